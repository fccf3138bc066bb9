import CoalitionKit
import Glibc

/// A listening TCP socket on an IPv4 or IPv6 literal address (or `localhost`).
final class Listener {
    let descriptor: Int32
    let port: Int

    init(host: String, port: Int) throws(CoalitionError) {
        let address = try SocketAddress(host: host, port: port)
        let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw systemError("socket") }
        var yes: Int32 = 1
        guard setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            let code = errno
            closeDescriptor(fd)
            throw systemError("setsockopt SO_REUSEADDR", code)
        }
        let bound = address.withSockaddr { bind(fd, $0, $1) }
        guard bound == 0, listen(fd, 512) == 0 else {
            let code = errno
            closeDescriptor(fd)
            throw systemError("listening on \(host):\(port)", code)
        }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else {
            let code = errno
            closeDescriptor(fd)
            throw systemError("getsockname", code)
        }
        descriptor = fd
        self.port = SocketAddress.describe(storage).port
    }

    deinit { closeDescriptor(descriptor) }

    /// The next connection, non-blocking, and its peer's address; nil when none is waiting
    /// or the peer left before it was taken.
    func accept() throws(CoalitionError) -> (descriptor: Int32, remoteAddress: String)? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let fd = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.accept(descriptor, $0, &length) }
        }
        guard fd >= 0 else {
            switch errno {
            case EAGAIN, EINTR, ECONNABORTED, EPROTO: return nil
            // Out of descriptors: refuse for now; the waiting peer is taken once one is free.
            case EMFILE, ENFILE, ENOBUFS, ENOMEM: return nil
            default: throw systemError("accept")
            }
        }
        guard fcntl(fd, F_SETFD, FD_CLOEXEC) == 0, fcntl(fd, F_SETFL, O_NONBLOCK) == 0 else {
            let code = errno
            closeDescriptor(fd)
            throw systemError("fcntl on an accepted socket", code)
        }
        var noDelay: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size))
        let peer = SocketAddress.describe(storage)
        return (fd, peer.text)
    }
}

/// An IP address and port, as the socket calls take it.
struct SocketAddress {
    private var storage = sockaddr_storage()
    private(set) var length: socklen_t = 0
    var family: Int32 { Int32(storage.ss_family) }

    init(host: String, port: Int) throws(CoalitionError) {
        guard (0...65535).contains(port) else { throw CoalitionError(.usage, "the port \(port) is not 0 to 65535") }
        let name = host == "localhost" ? "127.0.0.1" : host
        var v4 = sockaddr_in()
        var v6 = sockaddr_in6()
        if inet_pton(AF_INET, name, &v4.sin_addr) == 1 {
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = in_port_t(UInt16(port).bigEndian)
            withUnsafeBytes(of: v4) { source in
                withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: source) }
            }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
        } else if inet_pton(AF_INET6, name, &v6.sin6_addr) == 1 {
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = in_port_t(UInt16(port).bigEndian)
            withUnsafeBytes(of: v6) { source in
                withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: source) }
            }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        } else {
            throw CoalitionError(.usage, "\(host) is not an IP address or localhost")
        }
    }

    /// Whether `host` names this machine only: 127.0.0.0/8, ::1 or localhost.
    static func isLoopback(_ host: String) -> Bool {
        guard let address = try? SocketAddress(host: host, port: 0) else { return false }
        return withUnsafeBytes(of: address.storage) { raw in
            if address.family == AF_INET {
                // sin_family (2 bytes), sin_port (2 bytes), then the address's first byte.
                return raw[4] == 127
            }
            // sin6_family, sin6_port, sin6_flowinfo (8 bytes), then the 16 address bytes.
            return raw[8..<23].allSatisfy { $0 == 0 } && raw[23] == 1
        }
    }

    func withSockaddr<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        withUnsafeBytes(of: storage) { body($0.baseAddress!.assumingMemoryBound(to: sockaddr.self), length) }
    }

    /// `127.0.0.1:53122` or `[::1]:53122`, and the port.
    static func describe(_ storage: sockaddr_storage) -> (text: String, port: Int) {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        return withUnsafeBytes(of: storage) { raw in
            if Int32(storage.ss_family) == AF_INET {
                let address = raw.load(as: sockaddr_in.self)
                var ip = address.sin_addr
                inet_ntop(AF_INET, &ip, &text, socklen_t(text.count))
                let port = Int(UInt16(bigEndian: address.sin_port))
                return ("\(cString(text)):\(port)", port)
            }
            let address = raw.load(as: sockaddr_in6.self)
            var ip = address.sin6_addr
            inet_ntop(AF_INET6, &ip, &text, socklen_t(text.count))
            let port = Int(UInt16(bigEndian: address.sin6_port))
            return ("[\(cString(text))]:\(port)", port)
        }
    }
}
