import ProvisionerDaemon
import Testing

/// The echo provisioner's tar reader takes archives from users: hostile sizes end the reading.
@Suite struct TarArchiveTests {
    func archive(sizeField: String) -> [UInt8] {
        var bytes = TarArchive.make(name: "manifest.json", contents: Array("{}".utf8))
        let field = Array(sizeField.utf8) + [UInt8](repeating: 0, count: max(0, 12 - sizeField.utf8.count))
        bytes.replaceSubrange(124..<136, with: field.prefix(12))
        return bytes
    }

    @Test func readsAWellFormedArchive() {
        #expect(TarArchive.file(named: "manifest.json", in: TarArchive.make(name: "manifest.json", contents: Array("{}".utf8))) == Array("{}".utf8))
    }

    @Test func negativeAbsurdOrGarbageSizesStopTheReading() {
        for field in ["-1", "-00000000001", "77777777777", "99999999999", "0x10", "", "1 2", "\u{FF}\u{FF}"] {
            #expect(TarArchive.file(named: "manifest.json", in: archive(sizeField: field)) == nil, "size field \(field)")
        }
    }

    @Test func truncatedArchivesAndTinyInputs() {
        let whole = TarArchive.make(name: "manifest.json", contents: [UInt8](repeating: 1, count: 2000))
        for length in [0, 1, 511, 512, 1000, 2000] {
            #expect(TarArchive.file(named: "manifest.json", in: Array(whole.prefix(length))) == nil)
        }
    }

    @Test func randomBytesNeverTrap() {
        var generator = SystemRandomNumberGenerator()
        // 200, not thousands: a synchronous test holds a thread of the cooperative pool (two on
        // this machine) that the in-process servers of other tests share, and 2000 took 4 s.
        for _ in 0..<200 {
            let bytes = (0..<Int.random(in: 0...2048, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = TarArchive.file(named: "manifest.json", in: bytes)
        }
    }
}
