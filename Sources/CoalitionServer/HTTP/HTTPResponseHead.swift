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
        for field in headers.fields where !transportFields.contains(where: { HTTPHeaders.sameName($0, field.name) }) {
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

    /// `Sun, 06 Nov 1994 08:49:37 GMT` (IMF-fixdate), by arithmetic on the Unix time: no
    /// calendar object is made for each answer.
    static func httpDate(_ date: Date) -> String {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let time = seconds - days * 86400
        let (year, month, day) = civilDate(daysSinceEpoch: days)
        let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let weekday = weekdays[Int(((days % 7) + 7) % 7)]
        return "\(weekday), \(two(day)) \(months[Int(month - 1)]) \(year) "
            + "\(two(time / 3600)):\(two(time % 3600 / 60)):\(two(time % 60)) GMT"
    }

    /// Year, month (1–12) and day of the month of a day counted from 1970-01-01, in the
    /// proleptic Gregorian calendar (Howard Hinnant's `civil_from_days`).
    static func civilDate(daysSinceEpoch days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
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
