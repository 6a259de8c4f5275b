import WireFormat

/// The declared type of each root-module variable, which `terraform show -json` does not give
/// (its `configuration.root_module.variables` has only `default`, `description` and `sensitive`).
/// Coder reads it from the source with hashicorp/terraform-config-inspect: the raw text of the
/// `type` expression (`string`, `number`, `bool`, `list(string)`, `object({ a = string })`), or
/// nothing when the block has no `type`. This does the same with a small scanner that knows just
/// enough HCL not to be fooled: comments (`#`, `//`, `/* */`), quoted strings with escapes and
/// `${…}` / `%{…}` sequences (which may hold braces and strings of their own), heredocs
/// (`<<EOF`, `<<-EOF`), and bracket nesting. Only a `variable "NAME" {` at the top level starts a
/// declaration, and only a `type =` directly in its body (not in a nested `validation` block, not
/// a key of the default) is its type.
///
/// Hostile input is safe: every construct is scanned with an explicit stack (no recursion), each
/// byte is looked at a bounded number of times, and input that ends inside a string, comment or
/// heredoc (or has a quoted string running past its line, or a closing bracket that matches
/// nothing) ends the scan with the variables whose blocks were complete by then. Terraform itself
/// refuses such files, so nothing better is owed.
public enum VariableTypes {
    /// A type longer than this (in UTF-8 bytes, once normalized) is not reported: the variable is
    /// left out of `declared`, as if it had no `type`.
    public static let maxTypeBytes = 1024

    /// The `type` of each variable declared in `files` (the template's root directory: its
    /// `*.tf` files, and `*.tf.json` files in Terraform's JSON syntax, told apart by name), by
    /// variable name. The type is the expression's text with comments dropped, surrounding
    /// whitespace removed and every run of whitespace outside string literals made one space:
    /// `object({\n  a = string # x\n})` gives `object({ a = string })`. A variable whose block
    /// has no `type` (or one longer than `maxTypeBytes`) is not in the result: see `inferred`.
    ///
    /// - The pre-0.12 quoted form `type = "string"` gives `string`, as terraform-config-inspect
    ///   does (Terraform 1.x refuses it, so such a template does not plan anyway).
    /// - In a `.tf.json` file the type is a string holding the expression
    ///   (`{"variable": {"n": {"type": "list(string)"}}}`: Terraform's JSON syntax is "quoted
    ///   within the type system", so there is no `${…}` wrapper); it is normalized the same way.
    /// - A variable declared twice (an error for Terraform) keeps its first declaration, in the
    ///   order of `files`. Override files (`override.tf`, `*_override.tf`, and their `.tf.json`
    ///   forms) are applied after all others, as Terraform does: a `type` there replaces the
    ///   variable's type; a block there without one leaves it.
    public static func declared(in files: [(name: String, text: String)]) -> [String: String] {
        var types: [String: String] = [:]
        var seen: Set<String> = []
        for file in files where !isOverride(file.name) {
            for declaration in declarations(in: file.name, text: file.text) where !seen.contains(declaration.name) {
                seen.insert(declaration.name)
                if case .text(let text) = declaration.type { types[declaration.name] = text }
            }
        }
        for file in files where isOverride(file.name) {
            for declaration in declarations(in: file.name, text: file.text) {
                switch declaration.type {
                case .absent: break
                case .text(let text): types[declaration.name] = text
                case .tooLong: types[declaration.name] = nil
                }
            }
        }
        return types
    }

    /// The type to report for a variable whose block has no `type`, from its default (nil: no
    /// `default`), following what Terraform itself makes of it. An untyped variable's constraint
    /// is `any`, and `type(var.x)` in `terraform console` shows the default's own type: `number`
    /// for `default = 5`, `object({ x: number, })` for `{ x = 1 }` (tf-research §3). So:
    ///
    /// - a string, number or bool default gives `string`, `number` or `bool`;
    /// - an array gives `tuple([…])` and an object `object({…})` with each element's or
    ///   attribute's type, in the compact form of HCL's `typeexpr.TypeString`
    ///   (`tuple([string,number])`, `object({a=string,b=bool})`, attributes sorted, a name that is
    ///   not an identifier quoted); a `null` inside is `any`; a rendering longer than
    ///   `maxTypeBytes` gives `any`;
    /// - no default, or `default = null`, gives `string` (Terraform says `dynamic`): with no type,
    ///   Terraform takes a value given on the command line or in the environment literally, as a
    ///   string (`VariableParseLiteral` is the parsing mode of every untyped variable), and Coder's
    ///   form shows anything other than `number` and `bool` as a text field.
    ///
    /// Coder itself does none of this: it stores terraform-config-inspect's `Type` verbatim
    /// (`convertTerraformVariable` in provisioner/terraform/parse.go: `Type: variable.Type`),
    /// which is `""` for every variable declared without `type`, whatever its default. A caller
    /// that must match Coder byte for byte should report `""` instead of calling this.
    public static func inferred(fromDefault value: JSONValue?) -> String {
        guard let value else { return "string" }
        if case .null = value { return "string" }
        var text = ""
        guard render(value, into: &text) else { return "any" }
        return text
    }

    // MARK: - Declarations

    enum DeclaredType: Equatable {
        /// No `type` (or an empty one).
        case absent
        case text(String)
        /// Longer than `maxTypeBytes`: the variable is not reported.
        case tooLong
    }

    struct Declaration: Equatable {
        var name: String
        var type: DeclaredType
    }

    /// The variable blocks of one file whose bodies were complete, in order.
    static func declarations(in name: String, text: String) -> [Declaration] {
        let bytes = Array(text.utf8)
        if baseName(name).hasSuffix(".tf.json") {
            var scan = JSONScan(bytes)
            return scan.run()
        }
        return HCLScan.declarations(bytes)
    }

    static func baseName(_ name: String) -> String {
        guard let slash = name.lastIndex(of: "/") else { return name }
        return String(name[name.index(after: slash)...])
    }

    /// Terraform's override files, merged into the primary ones after all of them are loaded.
    static func isOverride(_ name: String) -> Bool {
        let base = baseName(name)
        return base == "override.tf" || base == "override.tf.json"
            || base.hasSuffix("_override.tf") || base.hasSuffix("_override.tf.json")
    }

    // MARK: - Inferred types

    private static func render(_ value: JSONValue, into text: inout String) -> Bool {
        guard text.utf8.count <= maxTypeBytes else { return false }
        switch value {
        case .null: text += "any"
        case .bool: text += "bool"
        case .int, .double: text += "number"
        case .string: text += "string"
        case .array(let elements):
            text += "tuple(["
            for (index, element) in elements.enumerated() {
                if index > 0 { text += "," }
                guard render(element, into: &text) else { return false }
            }
            text += "])"
        case .object(let members):
            text += "object({"
            let names = members.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for (index, name) in names.enumerated() {
                if index > 0 { text += "," }
                text += isIdentifier(name) ? name : quoted(name)
                text += "="
                guard let member = members[name], render(member, into: &text) else { return false }
            }
            text += "})"
        }
        return text.utf8.count <= maxTypeBytes
    }

    private static func isIdentifier(_ name: String) -> Bool {
        guard let first = name.utf8.first, Byte.isIdentifierStart(first) else { return false }
        return name.utf8.allSatisfy(Byte.isIdentifierContinue)
    }

    /// Go's `%q`, near enough: what `typeexpr.TypeString` writes for an attribute name that is
    /// not an identifier.
    private static func quoted(_ name: String) -> String {
        var text = "\""
        for scalar in name.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16)
                    text += "\\x" + (hex.count < 2 ? "0" + hex : hex)
                } else {
                    text.unicodeScalars.append(scalar)
                }
            }
        }
        return text + "\""
    }
}

// MARK: - Bytes

private enum Byte {
    static let tab: UInt8 = 0x09
    static let newline: UInt8 = 0x0A
    static let carriageReturn: UInt8 = 0x0D
    static let space: UInt8 = 0x20
    static let quote: UInt8 = 0x22 // "
    static let hash: UInt8 = 0x23 // #
    static let dollar: UInt8 = 0x24 // $
    static let percent: UInt8 = 0x25 // %
    static let leftParen: UInt8 = 0x28
    static let rightParen: UInt8 = 0x29
    static let star: UInt8 = 0x2A
    static let comma: UInt8 = 0x2C
    static let minus: UInt8 = 0x2D
    static let slash: UInt8 = 0x2F
    static let colon: UInt8 = 0x3A
    static let lessThan: UInt8 = 0x3C
    static let equals: UInt8 = 0x3D
    static let greaterThan: UInt8 = 0x3E
    static let leftBracket: UInt8 = 0x5B
    static let backslash: UInt8 = 0x5C
    static let rightBracket: UInt8 = 0x5D
    static let leftBrace: UInt8 = 0x7B
    static let rightBrace: UInt8 = 0x7D

    /// HCL identifiers: ASCII letters, `_`, and (leniently) any non-ASCII byte to start; digits
    /// and `-` too after that.
    static func isIdentifierStart(_ byte: UInt8) -> Bool {
        (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || byte == 0x5F || byte >= 0x80
    }

    static func isIdentifierContinue(_ byte: UInt8) -> Bool {
        isIdentifierStart(byte) || (byte >= 0x30 && byte <= 0x39) || byte == minus
    }

    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == space || byte == tab || byte == carriageReturn || byte == newline
    }

    /// Trimmed, with every run of whitespace one space (for text known to hold no string
    /// literal worth keeping intact: a legacy quoted type, or an expression that did not lex).
    static func collapsed(_ bytes: ArraySlice<UInt8>) -> VariableTypes.DeclaredType {
        var out: [UInt8] = []
        var pendingSpace = false
        for byte in bytes {
            if isWhitespace(byte) {
                pendingSpace = true
                continue
            }
            if pendingSpace && !out.isEmpty { out.append(space) }
            pendingSpace = false
            out.append(byte)
            if out.count > VariableTypes.maxTypeBytes { return .tooLong }
        }
        return out.isEmpty ? .absent : .text(String(decoding: out, as: UTF8.self))
    }
}

// MARK: - HCL native syntax

/// Splits HCL into the tokens the block structure needs: identifiers, whole strings and
/// heredocs (with everything nested in them), brackets, `=`, newlines and single bytes of
/// anything else. Whitespace and comments only mark the next token as spaced.
private struct HCLLexer {
    enum Kind: Equatable {
        case identifier
        /// A quoted string; simple when it holds no `${…}` or `%{…}`.
        case string(simple: Bool)
        case heredoc
        case open(UInt8)
        case close(UInt8)
        case newline
        case equals
        case other
    }

    struct Token {
        var kind: Kind
        var start: Int
        var end: Int
        /// Whitespace or a comment came between this token and the one before.
        var spaceBefore: Bool
    }

    let bytes: [UInt8]
    private(set) var position: Int
    /// The input ended inside a string, comment or heredoc, or a quoted string ran past its
    /// line: no more tokens.
    private(set) var failed = false

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        position = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
    }

    mutating func next() -> Token? {
        guard !failed else { return nil }
        let count = bytes.count
        var spaced = false
        while position < count {
            let byte = bytes[position]
            if byte == Byte.space || byte == Byte.tab || byte == Byte.carriageReturn {
                position += 1
            } else if byte == Byte.hash || (byte == Byte.slash && peek(1) == Byte.slash) {
                position = Self.endOfLine(bytes, from: position)
            } else if byte == Byte.slash && peek(1) == Byte.star {
                guard let end = Self.endOfBlockComment(bytes, from: position + 2) else {
                    failed = true
                    return nil
                }
                position = end
            } else {
                break
            }
            spaced = true
        }
        guard position < count else { return nil }
        let start = position
        let byte = bytes[position]
        let kind: Kind
        if byte == Byte.newline {
            position += 1
            kind = .newline
        } else if Byte.isIdentifierStart(byte) {
            position += 1
            while position < count && Byte.isIdentifierContinue(bytes[position]) { position += 1 }
            kind = .identifier
        } else if byte == Byte.quote {
            guard let scanned = Self.scanTemplate(bytes, heredocMarker: nil, from: position + 1) else {
                failed = true
                return nil
            }
            position = scanned.end
            kind = .string(simple: scanned.simple)
        } else if byte == Byte.lessThan, let header = Self.heredocHeader(bytes, at: position) {
            guard let scanned = Self.scanTemplate(bytes, heredocMarker: header.marker, from: header.bodyStart) else {
                failed = true
                return nil
            }
            position = scanned.end
            kind = .heredoc
        } else if byte == Byte.leftBrace || byte == Byte.leftBracket || byte == Byte.leftParen {
            position += 1
            kind = .open(byte)
        } else if byte == Byte.rightBrace || byte == Byte.rightBracket || byte == Byte.rightParen {
            position += 1
            kind = .close(byte)
        } else if byte == Byte.equals {
            if peek(1) == Byte.equals || peek(1) == Byte.greaterThan {
                position += 2
                kind = .other
            } else {
                position += 1
                kind = .equals
            }
        } else {
            position += 1
            kind = .other
        }
        return Token(kind: kind, start: start, end: position, spaceBefore: spaced)
    }

    private func peek(_ offset: Int) -> UInt8? {
        position + offset < bytes.count ? bytes[position + offset] : nil
    }

    static func endOfLine(_ bytes: [UInt8], from start: Int) -> Int {
        var index = start
        while index < bytes.count && bytes[index] != Byte.newline { index += 1 }
        return index
    }

    /// Just past the `*/` that ends a block comment whose text starts at `start`.
    static func endOfBlockComment(_ bytes: [UInt8], from start: Int) -> Int? {
        var index = start
        while index + 1 < bytes.count {
            if bytes[index] == Byte.star && bytes[index + 1] == Byte.slash { return index + 2 }
            index += 1
        }
        return nil
    }

    /// `<<MARKER` or `<<-MARKER` and the end of its line at `index`: the marker and where the
    /// heredoc's first line starts.
    static func heredocHeader(_ bytes: [UInt8], at index: Int) -> (marker: Range<Int>, bodyStart: Int)? {
        let count = bytes.count
        guard index + 1 < count, bytes[index] == Byte.lessThan, bytes[index + 1] == Byte.lessThan else { return nil }
        var cursor = index + 2
        if cursor < count && bytes[cursor] == Byte.minus { cursor += 1 }
        guard cursor < count, Byte.isIdentifierStart(bytes[cursor]) else { return nil }
        let markerStart = cursor
        while cursor < count && Byte.isIdentifierContinue(bytes[cursor]) { cursor += 1 }
        let marker = markerStart..<cursor
        if cursor < count && bytes[cursor] == Byte.carriageReturn { cursor += 1 }
        guard cursor < count, bytes[cursor] == Byte.newline else { return nil }
        return (marker, cursor + 1)
    }

    /// When the line starting at `start` is a heredoc's closing marker (alone on its line,
    /// whitespace around it allowed, for `<<` and `<<-` alike, as HCL's scanner does), the index
    /// just past the marker.
    static func closingMarker(_ bytes: [UInt8], lineFrom start: Int, marker: Range<Int>) -> Int? {
        var first = start
        while first < bytes.count && (bytes[first] == Byte.space || bytes[first] == Byte.tab) { first += 1 }
        var last = endOfLine(bytes, from: first)
        while last > first && (bytes[last - 1] == Byte.space || bytes[last - 1] == Byte.tab || bytes[last - 1] == Byte.carriageReturn) {
            last -= 1
        }
        guard last - first == marker.count, bytes[first..<last].elementsEqual(bytes[marker]) else { return nil }
        return last
    }

    /// At a `$` or `%`: 2 when it opens a template sequence (`${`, `%{`), 3 when it is the
    /// escape of one (`$${`, `%%{`, literal text), nil otherwise.
    static func templateSequence(_ bytes: [UInt8], at index: Int) -> Int? {
        let byte = bytes[index]
        guard byte == Byte.dollar || byte == Byte.percent, index + 1 < bytes.count else { return nil }
        if bytes[index + 1] == Byte.leftBrace { return 2 }
        if bytes[index + 1] == byte && index + 2 < bytes.count && bytes[index + 2] == Byte.leftBrace { return 3 }
        return nil
    }

    private struct Frame {
        enum Kind {
            case quoted
            case heredoc
            /// Inside `${…}` or `%{…}`: HCL expression syntax until the `}` that balances it.
            case sequence
        }

        var kind: Kind
        var marker: Range<Int> = 0..<0
        var atLineStart = false
        var braces = 0
    }

    /// Scans a quoted string (`heredocMarker` nil; `start` just past the opening quote) or a
    /// heredoc's body (`start` at its first line), with whatever nests in them, to just past its
    /// end. Nil when the input ends first, or a quoted string's text runs past its line.
    static func scanTemplate(_ bytes: [UInt8], heredocMarker: Range<Int>?, from start: Int) -> (end: Int, simple: Bool)? {
        var stack: [Frame]
        if let heredocMarker {
            stack = [Frame(kind: .heredoc, marker: heredocMarker, atLineStart: true)]
        } else {
            stack = [Frame(kind: .quoted)]
        }
        let count = bytes.count
        var simple = true
        var index = start
        while let top = stack.last {
            guard index < count else { return nil }
            let byte = bytes[index]
            let last = stack.count - 1
            switch top.kind {
            case .quoted:
                if byte == Byte.quote {
                    stack.removeLast()
                    index += 1
                } else if byte == Byte.backslash {
                    index += 2
                } else if byte == Byte.newline {
                    return nil
                } else if let length = templateSequence(bytes, at: index) {
                    if length == 2 {
                        stack.append(Frame(kind: .sequence))
                        simple = false
                    }
                    index += length
                } else {
                    index += 1
                }
            case .heredoc:
                if top.atLineStart {
                    stack[last].atLineStart = false
                    if let end = closingMarker(bytes, lineFrom: index, marker: top.marker) {
                        stack.removeLast()
                        index = end
                        continue
                    }
                }
                if byte == Byte.newline {
                    stack[last].atLineStart = true
                    index += 1
                } else if let length = templateSequence(bytes, at: index) {
                    if length == 2 {
                        stack.append(Frame(kind: .sequence))
                        simple = false
                    }
                    index += length
                } else {
                    index += 1
                }
            case .sequence:
                switch byte {
                case Byte.leftBrace:
                    stack[last].braces += 1
                    index += 1
                case Byte.rightBrace:
                    if top.braces == 0 { stack.removeLast() } else { stack[last].braces -= 1 }
                    index += 1
                case Byte.quote:
                    stack.append(Frame(kind: .quoted))
                    index += 1
                case Byte.hash:
                    index = endOfLine(bytes, from: index)
                case Byte.slash where index + 1 < count && bytes[index + 1] == Byte.slash:
                    index = endOfLine(bytes, from: index)
                case Byte.slash where index + 1 < count && bytes[index + 1] == Byte.star:
                    guard let end = endOfBlockComment(bytes, from: index + 2) else { return nil }
                    index = end
                case Byte.lessThan:
                    if let header = heredocHeader(bytes, at: index) {
                        stack.append(Frame(kind: .heredoc, marker: header.marker, atLineStart: true))
                        index = header.bodyStart
                    } else {
                        index += 1
                    }
                default:
                    index += 1
                }
            }
        }
        return (index, simple)
    }
}

/// The text of one `type` expression, token by token: comments dropped, whitespace between
/// tokens one space, strings and heredocs as written.
private struct TypeCapture {
    private var text: [UInt8] = []
    private var pendingSpace = false
    private var tokens = 0
    /// The text inside the quotes when the first token is a string with no template sequence.
    private var firstString: Range<Int>?
    private var tooLong = false

    mutating func add(_ token: HCLLexer.Token, from bytes: [UInt8]) {
        if token.kind == .newline {
            pendingSpace = true
            return
        }
        tokens += 1
        if tokens == 1, case .string(simple: true) = token.kind {
            firstString = (token.start + 1)..<(token.end - 1)
        }
        guard !tooLong else { return }
        if (pendingSpace || token.spaceBefore) && !text.isEmpty { text.append(Byte.space) }
        pendingSpace = false
        text.append(contentsOf: bytes[token.start..<token.end])
        if text.count > VariableTypes.maxTypeBytes {
            tooLong = true
            text = []
        }
    }

    func result(from bytes: [UInt8]) -> VariableTypes.DeclaredType {
        if tooLong { return .tooLong }
        if tokens == 0 { return .absent }
        // `type = "string"`: terraform-config-inspect reports the string's value.
        if tokens == 1, let inner = firstString, !bytes[inner].contains(Byte.backslash) {
            return Byte.collapsed(bytes[inner])
        }
        return .text(String(decoding: text, as: UTF8.self))
    }
}

private enum HCLScan {
    private enum State: Equatable {
        /// Outside any variable block.
        case idle
        /// After a top-level `variable` at the start of a line.
        case keyword
        /// After `variable "NAME"`.
        case label(String)
        /// In a variable block's body.
        case body
        /// After `type` at the start of a line of the body.
        case typeName
        /// In the expression after `type =`.
        case expression
    }

    /// The variable blocks whose closing brace was reached, in order. A block's `type` is the
    /// first `type = …` at its own level.
    static func declarations(_ bytes: [UInt8]) -> [VariableTypes.Declaration] {
        var lexer = HCLLexer(bytes)
        var found: [VariableTypes.Declaration] = []
        var opens: [UInt8] = []
        var atLineStart = true
        var state = State.idle
        var blockDepth = 0
        var name = ""
        var declaredType = VariableTypes.DeclaredType.absent
        var capture = TypeCapture()

        while let token = lexer.next() {
            switch state {
            case .keyword:
                if let labelText = Self.label(token, bytes) {
                    state = .label(labelText)
                    continue
                }
                state = .idle
            case .label(let labelText):
                if token.kind == .open(Byte.leftBrace) {
                    opens.append(Byte.leftBrace)
                    blockDepth = opens.count
                    name = labelText
                    declaredType = .absent
                    atLineStart = true
                    state = .body
                    continue
                }
                state = .idle
            case .typeName:
                if token.kind == .equals {
                    capture = TypeCapture()
                    state = .expression
                    continue
                }
                state = .body
            case .expression:
                if opens.count == blockDepth, token.kind == .newline || token.kind == .close(Byte.rightBrace) {
                    if declaredType == .absent { declaredType = capture.result(from: bytes) }
                    state = .body
                } else {
                    capture.add(token, from: bytes)
                }
            case .idle, .body:
                break
            }

            switch token.kind {
            case .newline:
                atLineStart = true
            case .open(let byte):
                opens.append(byte)
                atLineStart = byte == Byte.leftBrace
            case .close(let byte):
                guard let open = opens.popLast(), matches(open, byte) else { return found }
                if blockDepth > 0 && opens.count < blockDepth {
                    found.append(VariableTypes.Declaration(name: name, type: declaredType))
                    blockDepth = 0
                    state = .idle
                }
                atLineStart = false
            case .identifier:
                if atLineStart && state == .idle && opens.isEmpty && spells(token, bytes, "variable") {
                    state = .keyword
                } else if atLineStart && state == .body && opens.count == blockDepth && spells(token, bytes, "type") {
                    state = .typeName
                }
                atLineStart = false
            default:
                atLineStart = false
            }
        }
        return found
    }

    private static func matches(_ open: UInt8, _ close: UInt8) -> Bool {
        switch open {
        case Byte.leftBrace: close == Byte.rightBrace
        case Byte.leftBracket: close == Byte.rightBracket
        default: close == Byte.rightParen
        }
    }

    private static func spells(_ token: HCLLexer.Token, _ bytes: [UInt8], _ word: String) -> Bool {
        bytes[token.start..<token.end].elementsEqual(word.utf8)
    }

    /// A block label that can name a variable: an identifier, bare or quoted (a quoted one with
    /// anything else in it is no variable name Terraform accepts).
    private static func label(_ token: HCLLexer.Token, _ bytes: [UInt8]) -> String? {
        switch token.kind {
        case .identifier:
            return String(decoding: bytes[token.start..<token.end], as: UTF8.self)
        case .string(simple: true):
            let inner = bytes[(token.start + 1)..<(token.end - 1)]
            guard let first = inner.first, Byte.isIdentifierStart(first), inner.allSatisfy(Byte.isIdentifierContinue) else {
                return nil
            }
            return String(decoding: inner, as: UTF8.self)
        default:
            return nil
        }
    }

    /// A type expression given as text (a `.tf.json` file's `"type"` string), normalized as a
    /// native one is.
    static func expression(_ bytes: [UInt8]) -> VariableTypes.DeclaredType {
        var lexer = HCLLexer(bytes)
        var capture = TypeCapture()
        while let token = lexer.next() { capture.add(token, from: bytes) }
        if lexer.failed { return Byte.collapsed(bytes[...]) }
        return capture.result(from: bytes)
    }
}

// MARK: - HCL JSON syntax

/// Reads `{"variable": {"NAME": {"type": "…", …}, …}}` from a `.tf.json` file, in one pass with
/// an explicit stack. As HCL's JSON syntax allows, `"variable"` may also hold an array of such
/// objects, and a variable an array of bodies. Invalid JSON ends the scan with the variables
/// whose bodies were complete.
private struct JSONScan {
    private enum Role: Equatable {
        /// The file's top-level object.
        case root
        /// The object under `"variable"`: variable names to bodies.
        case variables
        /// An array under `"variable"`, of `variables` objects.
        case variableList
        /// A variable's body.
        case body(String)
        /// An array of bodies of one variable.
        case bodyList(String)
        case other
    }

    private struct Frame {
        var isObject: Bool
        var role: Role
        /// The current member's name, as written (escapes not decoded).
        var key: Range<Int>?
        var type: VariableTypes.DeclaredType = .absent
    }

    private enum Expect {
        case value
        case valueOrClose
        case key
        case keyOrClose
        case colon
        case commaOrClose
    }

    private let bytes: [UInt8]
    private var index: Int
    private var stack: [Frame] = []
    private var expect = Expect.value
    private var found: [VariableTypes.Declaration] = []

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        index = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
    }

    mutating func run() -> [VariableTypes.Declaration] {
        let count = bytes.count
        while true {
            while index < count && Byte.isWhitespace(bytes[index]) { index += 1 }
            guard index < count else { return found }
            let byte = bytes[index]
            switch expect {
            case .key, .keyOrClose:
                if byte == Byte.rightBrace && expect == .keyOrClose {
                    if close() { return found }
                    continue
                }
                guard byte == Byte.quote, let end = Self.stringEnd(bytes, from: index + 1) else { return found }
                stack[stack.count - 1].key = (index + 1)..<end
                index = end + 1
                expect = .colon
            case .colon:
                guard byte == Byte.colon else { return found }
                index += 1
                expect = .value
            case .commaOrClose:
                guard let top = stack.last else { return found }
                if byte == Byte.comma {
                    index += 1
                    expect = top.isObject ? .key : .value
                } else if byte == (top.isObject ? Byte.rightBrace : Byte.rightBracket) {
                    if close() { return found }
                } else {
                    return found
                }
            case .value, .valueOrClose:
                if byte == Byte.rightBracket && expect == .valueOrClose {
                    if close() { return found }
                    continue
                }
                if byte == Byte.leftBrace || byte == Byte.leftBracket {
                    let isObject = byte == Byte.leftBrace
                    stack.append(Frame(isObject: isObject, role: childRole(isObject: isObject)))
                    index += 1
                    expect = isObject ? .keyOrClose : .valueOrClose
                    continue
                }
                if byte == Byte.quote {
                    guard let end = Self.stringEnd(bytes, from: index + 1) else { return found }
                    readString((index + 1)..<end)
                    index = end + 1
                } else {
                    let start = index
                    while index < count && Self.isScalarByte(bytes[index]) { index += 1 }
                    guard index > start else { return found }
                }
                // A lone scalar is the whole document.
                if stack.isEmpty { return found }
                expect = .commaOrClose
            }
        }
    }

    /// Pops the innermost container at its closing bracket; true when that was the document's
    /// top level.
    private mutating func close() -> Bool {
        let frame = stack.removeLast()
        index += 1
        if case .body(let name) = frame.role {
            found.append(VariableTypes.Declaration(name: name, type: frame.type))
        }
        expect = .commaOrClose
        return stack.isEmpty
    }

    /// What a container opening here is, from where it sits.
    private func childRole(isObject: Bool) -> Role {
        guard let parent = stack.last else { return isObject ? .root : .other }
        switch parent.role {
        case .root:
            guard currentKey(of: parent) == Array("variable".utf8) else { return .other }
            return isObject ? .variables : .variableList
        case .variableList:
            return isObject ? .variables : .other
        case .variables:
            guard let key = currentKey(of: parent) else { return .other }
            let name = String(decoding: key, as: UTF8.self)
            return isObject ? .body(name) : .bodyList(name)
        case .bodyList(let name):
            return isObject ? .body(name) : .other
        case .body, .other:
            return .other
        }
    }

    /// A string value: the `type` of the body it sits in, if that is where it is.
    private mutating func readString(_ range: Range<Int>) {
        guard let parent = stack.last, parent.isObject, case .body(_) = parent.role, parent.type == .absent,
              currentKey(of: parent) == Array("type".utf8), let value = Self.decoded(bytes, range)
        else { return }
        stack[stack.count - 1].type = HCLScan.expression(value)
    }

    /// The member name being read in an object, decoded; nil in an array, or when its escapes
    /// are invalid.
    private func currentKey(of frame: Frame) -> [UInt8]? {
        guard frame.isObject, let key = frame.key else { return nil }
        return Self.decoded(bytes, key)
    }

    private static func isScalarByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A)
            || byte == Byte.minus || byte == 0x2B || byte == 0x2E
    }

    /// The index of the quote that ends a string whose text starts at `start`.
    static func stringEnd(_ bytes: [UInt8], from start: Int) -> Int? {
        var index = start
        while index < bytes.count {
            if bytes[index] == Byte.backslash {
                index += 2
            } else if bytes[index] == Byte.quote {
                return index
            } else {
                index += 1
            }
        }
        return nil
    }

    /// A JSON string's text with its escapes decoded (as UTF-8); nil when an escape is invalid.
    static func decoded(_ bytes: [UInt8], _ range: Range<Int>) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(range.count)
        var index = range.lowerBound
        let end = range.upperBound
        while index < end {
            let byte = bytes[index]
            guard byte == Byte.backslash else {
                out.append(byte)
                index += 1
                continue
            }
            guard index + 1 < end else { return nil }
            let escaped = bytes[index + 1]
            index += 2
            switch escaped {
            case Byte.quote, Byte.backslash, Byte.slash: out.append(escaped)
            case 0x62: out.append(0x08) // b
            case 0x66: out.append(0x0C) // f
            case 0x6E: out.append(0x0A) // n
            case 0x72: out.append(0x0D) // r
            case 0x74: out.append(0x09) // t
            case 0x75: // u
                guard var code = hex4(bytes, at: index, end: end) else { return nil }
                index += 4
                if code >= 0xD800 && code <= 0xDBFF, index + 1 < end, bytes[index] == Byte.backslash, bytes[index + 1] == 0x75,
                   let low = hex4(bytes, at: index + 2, end: end), low >= 0xDC00 && low <= 0xDFFF {
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    index += 6
                }
                let replacement: Unicode.Scalar = "\u{FFFD}"
                out.append(contentsOf: String(Character(Unicode.Scalar(code) ?? replacement)).utf8)
            default:
                return nil
            }
        }
        return out
    }

    private static func hex4(_ bytes: [UInt8], at start: Int, end: Int) -> UInt32? {
        guard start + 4 <= end else { return nil }
        var value: UInt32 = 0
        for byte in bytes[start..<(start + 4)] {
            let digit: UInt8
            switch byte {
            case 0x30...0x39: digit = byte - 0x30
            case 0x41...0x46: digit = byte - 0x41 + 10
            case 0x61...0x66: digit = byte - 0x61 + 10
            default: return nil
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }
}
