#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Names for files being written before they are renamed into place, and the clean-up of
/// those a crash left behind.
///
/// A temporary name is hidden and carries the writing process's id,
/// `dir/.<name>.<pid>.tmp`, so two processes never write the same temporary file, a folder
/// listing that skips dot files never shows a half-written file, and a later process can
/// tell a temporary file whose writer is gone from one still being written.
package enum TemporaryPath {
    /// The temporary name for writing `path` in this process.
    package static func beside(_ path: String) -> String {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        return directory + "." + name + ".\(getpid()).tmp"
    }

    /// Whether `name` is a temporary file whose writer is gone: a name of `beside`'s form
    /// whose process is not running, or one of the forms older versions used (`X.tmp`,
    /// `X.tmp.rejected`, `X.<pid>.tmp`), whatever its process.
    package static func isAbandoned(_ name: String) -> Bool {
        var stem = Substring(name)
        if stem.hasSuffix(".rejected") { stem = stem.dropLast(".rejected".count) }
        guard stem.hasSuffix(".tmp") else { return false }
        stem = stem.dropLast(".tmp".count)
        guard let dot = stem.lastIndex(of: "."), let pid = Int32(stem[stem.index(after: dot)...]), pid > 0 else {
            return true
        }
        if pid == getpid() { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }

    /// Removes the abandoned temporary files directly in `directory`; returns their names.
    /// Only a process holding the data directory's writer lock calls it.
    @discardableResult
    package static func removeAbandoned(in directory: String) -> [String] {
        guard let handle = opendir(directory) else { return [] }
        defer { closedir(handle) }
        var removed: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard name != ".", name != "..", isAbandoned(name) else { continue }
            if unlink(directory + "/" + name) == 0 { removed.append(name) }
        }
        return removed.sorted()
    }
}
