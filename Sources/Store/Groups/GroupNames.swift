import Foundation

/// The one rule for a group's name, whichever source names it: the REST API, SCIM, and the
/// identity-provider sync. Names are stored in Unicode NFC, so that two spellings of one name (an
/// `é` sent precomposed, or as `e` and a combining accent) are one name to the unique constraint
/// and to every lookup, as they are to a reader. A name that reads as a reserved one (`Everyone`,
/// in any case, or written with Cyrillic or Greek look-alikes, `Еveryone`) is refused: in a group
/// list it would pass for the organization's own.
public enum GroupNames {
    /// Who names the group. The REST API's `name` also keeps Coder's syntax (letters, digits and
    /// single hyphens); identity providers name groups as people do (`Platform Team`, `Ingeniería`).
    public enum Source: Sendable {
        case api, identityProvider
    }

    /// Longest name, in characters.
    public static let maximumLength = 255

    /// Names the API gives a meaning of its own, refused from every source with their look-alikes.
    public static let reserved = [Group.everyoneName]

    /// `name` as it is stored and compared: NFC, surrounding white space trimmed.
    public static func normalized(_ name: String) -> String {
        name.precomposedStringWithCanonicalMapping.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// What is wrong with a name (as `normalized` gives it), in words for the caller; nil when
    /// the name may be used.
    public static func problem(_ name: String, source: Source) -> String? {
        let apiSyntax = "Must be alphanumeric with single hyphens, at most \(maximumLength) characters, not \"new\" or \"create\""
        guard !name.isEmpty, name.count <= maximumLength else { return source == .api ? apiSyntax : "must have 1 to \(maximumLength) characters" }
        // Control and format characters (bidirectional overrides, zero-width joiners) make a
        // name read as something it is not.
        if name.unicodeScalars.contains(where: isInvisible) {
            return "must not contain control or invisible characters"
        }
        if let reserved = reserved.first(where: { looksLike(name, $0) }) {
            // Coder's words for the name itself.
            return name == reserved ? "\"\(reserved)\" is a reserved group name" : "\"\(name)\" reads as the reserved group name \"\(reserved)\""
        }
        if source == .api {
            let syntax = !name.hasPrefix("-") && !name.hasSuffix("-") && !name.contains("--")
                && name.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "-" } && !["new", "create"].contains(name)
            if !syntax { return apiSyntax }
        }
        return nil
    }

    /// Characters that draw nothing or change how the rest is drawn: controls, format characters
    /// (bidirectional overrides, zero-width joiners), Unicode's default-ignorable code points (the
    /// Hangul fillers), blank glyphs that are not spaces (U+2800), and unassigned or private ones.
    static func isInvisible(_ scalar: Unicode.Scalar) -> Bool {
        let properties = scalar.properties
        switch properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .unassigned, .privateUse:
            return true
        default:
            return properties.isDefaultIgnorableCodePoint || blanks.contains(scalar.value)
        }
    }

    /// Symbols drawn as nothing at all.
    private static let blanks: Set<UInt32> = [0x2800, 0x3164, 0xFFA0, 0x115F, 0x1160, 0x17B4, 0x17B5]

    /// What is wrong with a group's display name (free text, empty allowed); nil when it may be used.
    /// A display name is shown where the name is: one that reads as a reserved name, or holds
    /// invisible characters, would pass for the organization's own group just the same.
    public static func displayNameProblem(_ displayName: String) -> String? {
        if displayName.isEmpty { return nil }
        if displayName.unicodeScalars.contains(where: isInvisible) { return "must not contain control or invisible characters" }
        if let reserved = reserved.first(where: { looksLike(displayName, $0) }) {
            return "\"\(displayName)\" reads as the reserved group name \"\(reserved)\""
        }
        return nil
    }

    /// The rule every source shares, for the store to enforce whoever calls it: the name in NFC,
    /// or `StoreError.invalid` naming what is wrong.
    static func checked(name: String) throws -> String {
        let normalized = Self.normalized(name)
        if let problem = problem(normalized, source: .identityProvider) { throw StoreError.invalid(field: "name", detail: problem) }
        return normalized
    }

    /// The same for a display name.
    static func checked(displayName: String) throws -> String {
        let normalized = displayName.precomposedStringWithCanonicalMapping
        if let problem = displayNameProblem(normalized) { throw StoreError.invalid(field: "display_name", detail: problem) }
        return normalized
    }

    /// Whether `name` reads as `reserved`: equal once both are folded to a skeleton in the manner
    /// of Unicode TS #39 (compatibility forms, case, accents, and the letters of other scripts
    /// drawn like Latin ones); or, for what no table lists, as long as it, with every letter
    /// either the reserved name's own or one of another script or a digit in its place, and at
    /// least half of them its own (`Еvеryоne` with any look-alikes at all).
    public static func looksLike(_ name: String, _ reserved: String) -> Bool {
        let folded = skeleton(name), target = skeleton(reserved)
        if folded == target { return true }
        let candidate = Array(folded.unicodeScalars), letters = Array(target.unicodeScalars)
        guard candidate.count == letters.count, letters.allSatisfy(\.isASCII) else { return false }
        var own = 0
        for (scalar, letter) in zip(candidate, letters) {
            if scalar == letter {
                own += 1
            } else if scalar.isASCII, scalar.properties.numericType == nil {
                // Another Latin letter in its place: a different word, not a look-alike.
                return false
            }
        }
        return own * 2 >= letters.count
    }

    static func skeleton(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in text.decomposedStringWithCompatibilityMapping.lowercased().unicodeScalars {
            if scalar.properties.generalCategory == .nonspacingMark || isInvisible(scalar) || scalar.properties.isWhitespace { continue }
            if let latin = confusables[scalar] {
                out.append(contentsOf: latin.unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }

    /// Letters of other scripts drawn like Latin ones (lowercase, after case folding), from
    /// Unicode's confusables list: enough to catch a reserved name spelled with them.
    private static let confusables: [Unicode.Scalar: String] = {
        var table = listed
        // Cherokee capitals drawn like Latin ones. Swift lowers them to Cherokee small letters
        // (Unicode 8), so both forms are listed.
        let cherokee: [(UInt32, String)] = [
            (0x13AA, "a"), (0x13F4, "b"), (0x13DF, "c"), (0x13A0, "d"), (0x13AC, "e"), (0x13C0, "g"), (0x13BB, "h"),
            (0x13AB, "j"), (0x13E6, "k"), (0x13DE, "l"), (0x13B7, "m"), (0x13E2, "p"), (0x13A1, "r"), (0x13DA, "s"),
            (0x13A2, "t"), (0x13D9, "v"), (0x13B3, "w"), (0x13A9, "y"), (0x13C3, "z"),
        ]
        for (value, latin) in cherokee {
            guard let capital = Unicode.Scalar(value) else { continue }
            table[capital] = latin
            for lower in String(capital).lowercased().unicodeScalars { table[lower] = latin }
        }
        return table
    }()

    private static let listed: [Unicode.Scalar: String] = [
        // Cyrillic
        "а": "a", "в": "b", "г": "r", "д": "d", "е": "e", "ё": "e", "и": "u", "й": "u", "к": "k", "л": "n", "м": "m",
        "н": "h", "о": "o", "п": "n", "р": "p", "с": "c", "т": "t", "у": "y", "ф": "o", "х": "x", "ц": "u", "ч": "y", "ш": "w",
        "ь": "b", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l", "ү": "y", "ұ": "y",
        "ѵ": "v", "ѡ": "w", "ҽ": "e", "ӗ": "e", "ӧ": "o", "ӱ": "y", "ӓ": "a", "ɡ": "g",
        // Greek
        "α": "a", "β": "b", "γ": "y", "δ": "d", "ε": "e", "ζ": "z", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
        "σ": "o", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ϲ": "c", "ϳ": "j",
        // Armenian
        "օ": "o", "ս": "u", "ց": "g", "ո": "n", "հ": "h", "զ": "q", "ա": "w", "ե": "t", "ռ": "n",
        // Latin letters and digits that pass for others
        "0": "o", "1": "l", "|": "l", "ı": "i", "ɩ": "i", "ℓ": "l", "ʏ": "y", "ʀ": "r", "ɴ": "n", "ᴠ": "v", "ᴇ": "e", "ᴏ": "o",
        "i": "l",
    ]
}
