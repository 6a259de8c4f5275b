import Postgres

extension Schema {
    /// SCIM `userName`s and group names in Unicode NFC, as the API now stores them (`GroupNames`,
    /// `JSONValue.precomposed`), so that lookups with a normalized name find rows written before.
    /// A row whose normalized name another row already has keeps its spelling: those are the
    /// duplicates two normal forms made, for an operator to merge; nothing is lost or refused.
    /// A replica of the previous version reads and writes the rows as before.
    static let unicodeNames = Migration(version: 12, name: "unicode_names", sql: """
        UPDATE users u SET scim_user_name = normalize(u.scim_user_name, NFC)
            WHERE u.scim_user_name IS NOT NULL AND u.scim_user_name IS NOT NFC NORMALIZED
            AND NOT EXISTS (
                SELECT 1 FROM users o WHERE o.id <> u.id AND o.scim_user_name IS NOT NULL
                AND lower(o.scim_user_name) = lower(normalize(u.scim_user_name, NFC))
            );
        UPDATE groups g SET name = normalize(g.name, NFC)
            WHERE g.name IS NOT NFC NORMALIZED
            AND NOT EXISTS (SELECT 1 FROM groups o WHERE o.id <> g.id AND o.organization_id = g.organization_id AND o.name = normalize(g.name, NFC));
        """)
}
