import CoalitionKit
import Foundation

/// The member API under `/member/api/` (`docs/members.md`): activation, sign-in and
/// sign-out, and, with a session's bearer token, the signed-in member's own balance, lots,
/// tier and transfers. No route takes a member number for reading: a session reads only
/// its own member, so one member can never ask for another's data.
package final class MemberAPI: HTTPResponder {
    struct Activation: Decodable {
        let member: String
        let code: String
        let password: String
    }

    struct Credentials: Decodable {
        let member: String
        let password: String
    }

    struct TransferBody: Decodable {
        let to: String
        let points: Int64
    }

    package static let prefix = "/member/api/"
    /// Every route below `prefix`, with the methods it takes.
    package static let routes: [String: [String]] = [
        "activation": ["POST"], "sessions": ["POST"], "sessions/current": ["DELETE"],
        "balance": ["GET"], "statement": ["GET"], "transfers": ["POST"],
    ]
    let access: MemberAccess
    let writer: LedgerWriter
    let now: @Sendable () -> Timestamp

    package init(access: MemberAccess, writer: LedgerWriter, now: @escaping @Sendable () -> Timestamp) {
        self.access = access
        self.writer = writer
        self.now = now
    }

    package func bodyPolicy(for head: HTTPRequestHead) -> HTTPBodyPolicy { .inMemory(maximum: 4096) }

    package func respond(to request: HTTPRequest) -> HTTPResponse {
        var response: HTTPResponse
        do {
            response = try route(request)
        } catch {
            response = error.response
        }
        response.headers.add("Cache-Control", "no-store")
        return response
    }

    func route(_ request: HTTPRequest) throws(APIError) -> HTTPResponse {
        let head = request.head
        let name = String(head.path.dropFirst(Self.prefix.count))
        guard let methods = Self.routes[name] else { throw APIError.notFound }
        guard methods.contains(head.method) else { throw APIError.methodNotAllowed(allowed: methods) }
        switch name {
        case "activation":
            let body: Activation = try Self.decode(request)
            try access.activate(
                member: body.member,
                code: body.code,
                password: body.password,
                address: head.remoteAddress
            )
            return HTTPResponse(status: 204)
        case "sessions":
            let body: Credentials = try Self.decode(request)
            let session = try access.signIn(member: body.member, password: body.password, address: head.remoteAddress)
            return JSON.response(
                SessionAnswer(token: session.token, expiresAt: session.expiresAt.description),
                status: 201
            )
        case "sessions/current":
            try access.signOut(session: try Self.bearer(head))
            return HTTPResponse(status: 204)
        case "balance":
            return try balance(of: try access.member(session: try Self.bearer(head)))
        case "statement":
            return try statement(of: try access.member(session: try Self.bearer(head)), query: head.query)
        default:
            let member = try access.member(session: try Self.bearer(head))
            return try transfer(from: member, request)
        }
    }

    /// The balance, points by issuer with their lots (expired ones apart), and the tier.
    func balance(of member: MemberNumber) throws(APIError) -> HTTPResponse {
        let at = now()
        let answer: BalanceAnswer?
        do {
            answer = try writer.perform { ledger in
                ledger.member(member).map { BalanceAnswer(account: $0, network: ledger.network, at: at) }
            }
        } catch {
            throw APIError.from(error)
        }
        guard let answer else { throw APIError(status: 404, code: .unknownMember, message: "no such member") }
        return JSON.response(answer)
    }

    /// A transfer to another member through the writer, with the CLI's limits and fee.
    func transfer(from member: MemberNumber, _ request: HTTPRequest) throws(APIError) -> HTTPResponse {
        let body: TransferBody = try Self.decode(request)
        guard let key = request.head.headers["Idempotency-Key"], (1...64).contains(key.utf8.count),
            key.utf8.allSatisfy({ (33...126).contains($0) })
        else {
            throw APIError(status: 400, code: .usage, message: "send an Idempotency-Key of 1 to 64 visible characters")
        }
        let result = try Self.transfer(
            writer: writer,
            from: member,
            to: body.to,
            points: body.points,
            key: key,
            at: now()
        )
        return JSON.response(
            TransferAnswer(result),
            status: result.isReplay ? 200 : 201
        )
    }

    /// A transfer from `member` through the writer, with the CLI's limits and fee; what the
    /// API and the transfer page both call, so both refuse alike. `key` is the member's
    /// idempotency key, kept apart per member.
    static func transfer(
        writer: LedgerWriter,
        from member: MemberNumber,
        to text: String,
        points: Int64,
        key: String,
        at: Timestamp
    ) throws(APIError) -> TransferResult {
        guard let to = try? MemberNumber(text) else {
            throw APIError(status: 422, code: .unknownMember, message: "'\(text)' is not a member number")
        }
        let transfer = TransferRequest(
            from: member,
            to: to,
            points: points,
            idempotencyKey: "member-\(member)-\(key)",
            at: at,
            takesEffectNow: true
        )
        do {
            let result = try writer.perform { ledger in try ledger.transfer(transfer) }
            if !result.isReplay {
                var event = LedgerEvent(event: "transfer")
                event.member = member.description
                event.points = result.points
                event.posting = result.seq
                LedgerEventSink.record(event)
            }
            return result
        } catch let error as CoalitionError
            where ![.storeFailure, .io, .writerBusy, .shuttingDown].contains(error.code)
        {
            throw APIError(
                status: error.code == .idempotencyConflict ? 409 : 422,
                code: error.code,
                message: error.message
            )
        } catch {
            throw APIError.from(error)
        }
    }

    static func decode<T: Decodable>(_ request: HTTPRequest) throws(APIError) -> T {
        guard case .bytes(let bytes) = request.body, let value = try? JSONDecoder().decode(T.self, from: Data(bytes))
        else {
            throw APIError(status: 400, code: .usage, message: "the body is not the JSON object this resource takes")
        }
        return value
    }

    /// The token of `Authorization: Bearer TOKEN`.
    static func bearer(_ head: HTTPRequestHead) throws(APIError) -> String {
        guard let value = head.headers["Authorization"], value.hasPrefix("Bearer ") else {
            throw APIError(status: 401, code: .sessionInvalid, message: "sign in again: the session has ended")
        }
        return String(value.dropFirst(7))
    }
}
