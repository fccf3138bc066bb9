import CoalitionKit

extension Statement {
    /// Writes and signs `partner`'s statement of `cycle` at `path`, under the partner's
    /// newest key valid when the cycle closed.
    @discardableResult
    package static func write(
        for partner: PartnerID,
        cycle: ClearingCycle,
        obligations: [Obligation] = [],
        ring: KeyRing,
        to path: String
    ) throws
        -> [UInt8]
    {
        let key = try ring.signingKey(at: cycle.closedAt)
        let temporary = TemporaryPath.beside(path)
        let writer = try SignedFileWriter(path: temporary, key: key.secret)
        for line in lines(for: partner, cycle: cycle, keyID: key.info.id, obligations: obligations) {
            try writer.line(line)
        }
        let signature = try writer.finish()
        try SignedFileWriter.rename(temporary, to: path)
        return signature
    }
}
