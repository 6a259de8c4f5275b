import Foundation

// Coder writes UUIDs in lowercase; Foundation's `UUID` encodes uppercase. The wire types mark
// their id fields with these wrappers, so every response spells ids as Coder does.

@propertyWrapper
struct WireUUID: Encodable, Equatable {
    var wrappedValue: UUID
    init(wrappedValue: UUID) { self.wrappedValue = wrappedValue }
    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(wrappedValue.uuidString.lowercased())
    }
}

@propertyWrapper
struct WireOptionalUUID: Encodable, Equatable {
    var wrappedValue: UUID?
    init(wrappedValue: UUID?) { self.wrappedValue = wrappedValue }
    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let value = wrappedValue { try container.encode(value.uuidString.lowercased()) } else { try container.encodeNil() }
    }
}

@propertyWrapper
struct WireUUIDs: Encodable, Equatable {
    var wrappedValue: [UUID]
    init(wrappedValue: [UUID]) { self.wrappedValue = wrappedValue }
    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(wrappedValue.map { $0.uuidString.lowercased() })
    }
}
