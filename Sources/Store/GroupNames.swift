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
        if name.unicodeScalars.contains(where: { [.control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .unassigned, .privateUse].contains($0.properties.generalCategory) }) {
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

    /// Whether `name` reads as `reserved`: equal once both are folded to a skeleton in the manner
    /// of Unicode TS #39 (compatibility forms, case, accents, and the Cyrillic, Greek and digit
    /// letters that are drawn like Latin ones).
    public static func looksLike(_ name: String, _ reserved: String) -> Bool {
        skeleton(name) == skeleton(reserved)
    }

    static func skeleton(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in text.decomposedStringWithCompatibilityMapping.lowercased().unicodeScalars {
            if scalar.properties.generalCategory == .nonspacingMark || scalar.properties.generalCategory == .format { continue }
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
    private static let confusables: [Unicode.Scalar: String] = [
        // Cyrillic
        "а": "a", "в": "b", "г": "r", "д": "d", "е": "e", "ё": "e", "и": "u", "й": "u", "к": "k", "л": "n", "м": "m",
        "н": "h", "о": "o", "п": "n", "р": "p", "с": "c", "т": "t", "у": "y", "ф": "o", "х": "x", "ц": "u", "ч": "y", "ш": "w",
        "ь": "b", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l", "ү": "y", "ұ": "y",
        "ѵ": "v", "ѡ": "w", "ҽ": "e", "ӗ": "e", "ӧ": "o", "ӱ": "y", "ӓ": "a", "ɡ": "g",
        // Greek
        "α": "a", "β": "b", "γ": "y", "δ": "d", "ε": "e", "ζ": "z", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
        "σ": "o", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ϲ": "c", "ϳ": "j",
        // Latin letters and digits that pass for others
        "0": "o", "1": "l", "|": "l", "ı": "i", "ɩ": "i", "ℓ": "l", "ʏ": "y", "ʀ": "r", "ɴ": "n", "ᴠ": "v", "ᴇ": "e", "ᴏ": "o",
        "i": "l",
    ]
}
