import CoordinatorServer
import Testing

/// Durations as the command line writes them.
@Suite struct DurationParsingTests {
    @Test(arguments: [
        ("500ms", Duration.milliseconds(500)),
        ("1s", .seconds(1)),
        ("1.5s", .milliseconds(1500)),
        ("2m", .seconds(120)),
        ("1h", .seconds(3600)),
        ("1m30s", .seconds(90)),
        ("1h1m1s1ms", .milliseconds(3_661_001)),
        // Units may repeat and come in any order: they add up.
        ("1s1s", .seconds(2)),
        ("1ms2m", .milliseconds(120_001)),
        (" 30s ", .seconds(30)),
        (".5s", .milliseconds(500)),
        ("0s", .zero),
        ("24h", .seconds(86_400)),
    ])
    func theUnitsAddUp(text: String, expected: Duration) {
        #expect(parseDuration(text) == expected)
    }

    @Test func itRoundsToTheMillisecond() {
        #expect(parseDuration("1.0004s") == .seconds(1))
        #expect(parseDuration("1.0006s") == .milliseconds(1001))
        // Rounded to nothing: the caller's positivity check refuses it.
        #expect(parseDuration("0.0001s") == .zero)
    }

    @Test(arguments: [
        "", " ", "5", "s", "ms", "1", "1x", "1 s", "1mm", "1sm", "-1s", "+1s", "1e3s", "1..5s", "1.2.3s", "1S", "1MS",
        "½s", "٣s", "1s\n",
    ])
    func anythingElseIsRefused(text: String) {
        #expect(parseDuration(text) == nil, "\(text) parsed as \(String(describing: parseDuration(text)))")
    }

    @Test func aCenturyIsTheLongestAccepted() {
        #expect(maximumDurationSeconds == 100 * 365 * 24 * 3600)
        #expect(parseDuration("876000h") == .seconds(Int64(maximumDurationSeconds)))
        // Past it, and far past what would trap converting to milliseconds: refused, never a crash.
        #expect(parseDuration("876000h1ms") == nil)
        #expect(parseDuration(String(repeating: "9", count: 400) + "h") == nil)
    }
}
