import Foundation

/// The bytes of a response's status line and header section, with the fields the transport
/// owns (`Content-Length`, `Date`, `Connection`) added and any the responder set for them
/// dropped.
enum HTTPResponseHead {
    /// Fields only the transport writes.
    static let transportFields: Set<String> = ["content-length", "transfer-encoding", "connection", "date"]

    /// Status and header bytes. `contentLength` nil means no `Content-Length` (1xx, 204, 304).
    static func serialize(
        status: Int,
        headers: HTTPHeaders,
        contentLength: Int64?,
        keepAlive: Bool,
        now: Date = Date()
    ) -> [UInt8] {
        var text = "HTTP/1.1 \(status) \(reasonPhrase(status))\r\n"
        for field in headers.fields where !transportFields.contains(field.name.lowercased()) {
            guard isSafe(field.name), isSafe(field.value) else { continue }
            text += "\(field.name): \(field.value)\r\n"
        }
        if let contentLength { text += "Content-Length: \(contentLength)\r\n" }
        text += "Date: \(httpDate(now))\r\n"
        text += keepAlive ? "Connection: keep-alive\r\n" : "Connection: close\r\n"
        text += "\r\n"
        return Array(text.utf8)
    }

    /// A responder's field must not break the head: no CR, LF or other control byte.
    static func isSafe(_ text: String) -> Bool {
        text.utf8.allSatisfy(HTTPSyntax.isValueByte)
    }

    /// `Sun, 06 Nov 1994 08:49:37 GMT` (IMF-fixdate).
    static func httpDate(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int?) -> String { value.map { $0 < 10 ? "0\($0)" : "\($0)" } ?? "00" }
        return "\(days[(parts.weekday ?? 1) - 1]), \(two(parts.day)) \(months[(parts.month ?? 1) - 1]) "
            + "\(parts.year ?? 1970) \(two(parts.hour)):\(two(parts.minute)):\(two(parts.second)) GMT"
    }

    static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 100: "Continue"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 304: "Not Modified"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 411: "Length Required"
        case 413: "Content Too Large"
        case 414: "URI Too Long"
        case 415: "Unsupported Media Type"
        case 417: "Expectation Failed"
        case 422: "Unprocessable Content"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 503: "Service Unavailable"
        case 505: "HTTP Version Not Supported"
        default: "Status"
        }
    }
}
