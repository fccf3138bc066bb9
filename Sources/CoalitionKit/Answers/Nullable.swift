/// An optional value that JSON writes as `null` when it is absent, where an `Optional`
/// property's synthesized encoding would leave its key out: for answers whose readers look
/// for the key (`"cycle": null`, an obligation not yet cleared).
package struct Nullable<Wrapped: Encodable & Sendable>: Encodable, Sendable {
    package let value: Wrapped?

    package init(_ value: Wrapped?) { self.value = value }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let value { try container.encode(value) } else { try container.encodeNil() }
    }
}
