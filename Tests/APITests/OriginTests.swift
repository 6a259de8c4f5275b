import Testing
@testable import API

@Suite struct OriginTests {
    @Test func originsCompareSchemeHostAndEffectivePort() {
        #expect(Authenticator.origin(of: "https://Coder.Example.com/") == "https://coder.example.com")
        #expect(Authenticator.origin(of: "https://coder.example.com:443") == "https://coder.example.com")
        #expect(Authenticator.origin(of: "http://127.0.0.1:3000/path") == "http://127.0.0.1:3000")
        #expect(Authenticator.origin(of: "null") == nil)
    }
}
