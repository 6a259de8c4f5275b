import Foundation

/// One line of Terraform's machine-readable UI (`terraform … -json`), reduced to what the daemon
/// uses: the line's kind, level and text, and for a `diagnostic` its severity, words and place.
/// Pure: parsing touches nothing but the text.
///
/// Every field Terraform writes is optional here and a field of the wrong kind is dropped rather
/// than failing the line: the UI format gains fields between versions (`ui` 1.2 today), and a
/// line we half understand is still worth showing.
public struct TerraformUIMessage: Sendable, Equatable {
    /// `version`, `log`, `init_output`, `diagnostic`, `planned_change`, `apply_start`, … ("" when absent).
    public var type: String
    /// `@level` as written: `info`, `warn`, `error` (anything else is possible, and shown as `info`).
    public var level: String
    /// `@message`, Terraform's own rendering of the line.
    public var message: String
    /// Only for `type == "diagnostic"`.
    public var diagnostic: Diagnostic?

    public init(type: String, level: String, message: String, diagnostic: Diagnostic? = nil) {
        self.type = type
        self.level = level
        self.message = message
        self.diagnostic = diagnostic
    }

    /// An error or warning about the template, the values or a run: what Terraform's human output
    /// prints in a box.
    public struct Diagnostic: Sendable, Equatable {
        /// `error` or `warning`.
        public var severity: String
        public var summary: String
        /// May be empty, may hold several lines.
        public var detail: String
        /// The resource instance it is about (`terraform_data.second`), when there is one.
        public var address: String?
        /// Where in the source (or a var-file) it points: `range.filename` and `range.start.line`.
        public var filename: String?
        public var line: Int?
        /// The snippet: the enclosing block (`resource "terraform_data" "r"`), the source line(s)
        /// from `codeStartLine`, and what each referenced value was (`var.s is "abc"`).
        public var context: String?
        public var code: String?
        public var codeStartLine: Int?
        public var values: [String]

        public init(
            severity: String, summary: String, detail: String = "", address: String? = nil,
            filename: String? = nil, line: Int? = nil, context: String? = nil, code: String? = nil,
            codeStartLine: Int? = nil, values: [String] = []
        ) {
            self.severity = severity
            self.summary = summary
            self.detail = detail
            self.address = address
            self.filename = filename
            self.line = line
            self.context = context
            self.code = code
            self.codeStartLine = codeStartLine
            self.values = values
        }

        /// The diagnostic for a person: the summary (prefixed `Error:`/`Warning:` as Terraform
        /// writes it), the detail, then where: `on main.tf line 6, in resource "terraform_data" "r":`
        /// with the source line(s) and the values involved.
        public var text: String {
            var lines: [String] = []
            let prefix = switch severity {
            case "error": "Error: "
            case "warning": "Warning: "
            default: ""
            }
            lines.append(prefix + summary)
            let trimmedDetail = self.detail.trimmingCharacters(in: .whitespacesAndNewlines)
            if !trimmedDetail.isEmpty { lines.append(trimmedDetail) }
            if let filename {
                var place = "on \(filename)"
                if let line { place += " line \(line)" }
                if let context, !context.isEmpty { place += ", in \(context)" }
                if let code, !code.isEmpty {
                    lines.append(place + ":")
                    let first = codeStartLine ?? line
                    for (offset, source) in code.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                        // Line numbers come from the input: added without trapping, shown only when sane.
                        guard let first else {
                            lines.append("  \(source)")
                            continue
                        }
                        let (number, overflow) = first.addingReportingOverflow(offset)
                        lines.append(overflow ? "  \(source)" : "  \(number): \(source)")
                    }
                    for value in values { lines.append("    \(value)") }
                } else {
                    lines.append(place)
                }
            } else if let address, !address.isEmpty {
                lines.append("with \(address)")
            }
            return lines.joined(separator: "\n")
        }
    }

    /// Whether this line is an error diagnostic: what a failed command's message is made of.
    public var isError: Bool { diagnostic?.severity == "error" }

    /// The message, or nil when the line is not a JSON object (Terraform's stderr, a crash, a
    /// blank line).
    public static func parse(_ line: String) -> TerraformUIMessage? {
        // Most non-JSON lines are told apart without running the decoder.
        guard line.utf8.first(where: { $0 != 0x20 && $0 != 0x09 }) == UInt8(ascii: "{") else { return nil }
        guard let wire = try? decoder.decode(Wire.self, from: Data(line.utf8)) else { return nil }
        return TerraformUIMessage(
            type: wire.type ?? "",
            level: wire.level ?? "",
            message: wire.message ?? "",
            diagnostic: wire.diagnostic.map { diagnostic in
                Diagnostic(
                    severity: diagnostic.severity ?? "",
                    summary: diagnostic.summary ?? "",
                    detail: diagnostic.detail ?? "",
                    address: diagnostic.address,
                    filename: diagnostic.range?.filename,
                    line: diagnostic.range?.start?.line,
                    context: diagnostic.snippet?.context,
                    code: diagnostic.snippet?.code,
                    codeStartLine: diagnostic.snippet?.startLine,
                    values: (diagnostic.snippet?.values ?? []).compactMap { value in
                        guard let traversal = value.traversal, let statement = value.statement else { return nil }
                        return "\(traversal) \(statement)"
                    }
                )
            }
        )
    }

    private static let decoder = JSONDecoder()

    // The wire shapes. Each field is read with `try?`: one odd field never loses the line.

    private struct Wire: Decodable {
        var level: String?
        var message: String?
        var type: String?
        var diagnostic: WireDiagnostic?

        enum CodingKeys: String, CodingKey {
            case level = "@level"
            case message = "@message"
            case type, diagnostic
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            level = try? container.decodeIfPresent(String.self, forKey: .level)
            message = try? container.decodeIfPresent(String.self, forKey: .message)
            type = try? container.decodeIfPresent(String.self, forKey: .type)
            diagnostic = try? container.decodeIfPresent(WireDiagnostic.self, forKey: .diagnostic)
        }
    }

    private struct WireDiagnostic: Decodable {
        var severity: String?
        var summary: String?
        var detail: String?
        var address: String?
        var range: WireRange?
        var snippet: WireSnippet?

        enum CodingKeys: String, CodingKey { case severity, summary, detail, address, range, snippet }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            severity = try? container.decodeIfPresent(String.self, forKey: .severity)
            summary = try? container.decodeIfPresent(String.self, forKey: .summary)
            detail = try? container.decodeIfPresent(String.self, forKey: .detail)
            address = try? container.decodeIfPresent(String.self, forKey: .address)
            range = try? container.decodeIfPresent(WireRange.self, forKey: .range)
            snippet = try? container.decodeIfPresent(WireSnippet.self, forKey: .snippet)
        }
    }

    private struct WireRange: Decodable {
        var filename: String?
        var start: WirePosition?

        enum CodingKeys: String, CodingKey { case filename, start }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            filename = try? container.decodeIfPresent(String.self, forKey: .filename)
            start = try? container.decodeIfPresent(WirePosition.self, forKey: .start)
        }
    }

    private struct WirePosition: Decodable {
        var line: Int?

        enum CodingKeys: String, CodingKey { case line }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            line = try? container.decodeIfPresent(Int.self, forKey: .line)
        }
    }

    private struct WireSnippet: Decodable {
        var context: String?
        var code: String?
        var startLine: Int?
        var values: [WireValue]?

        enum CodingKeys: String, CodingKey {
            case context, code, values
            case startLine = "start_line"
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            context = try? container.decodeIfPresent(String.self, forKey: .context)
            code = try? container.decodeIfPresent(String.self, forKey: .code)
            startLine = try? container.decodeIfPresent(Int.self, forKey: .startLine)
            values = try? container.decodeIfPresent([WireValue].self, forKey: .values)
        }
    }

    private struct WireValue: Decodable {
        var traversal: String?
        var statement: String?

        enum CodingKeys: String, CodingKey { case traversal, statement }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            traversal = try? container.decodeIfPresent(String.self, forKey: .traversal)
            statement = try? container.decodeIfPresent(String.self, forKey: .statement)
        }
    }
}
