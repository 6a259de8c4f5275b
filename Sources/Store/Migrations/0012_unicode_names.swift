import Postgres

extension Schema {
    /// Names in Unicode NFC, as the API now writes them (`GroupNames`, `JSONValue.precomposed`,
    /// `RequestFields.email`), so that lookups with a normalized name find rows written before:
    /// SCIM `userName`s, emails, SCIM external ids and attributes, and group names. A row whose
    /// normal form another row shares (before or after normalizing) keeps its spelling: those are
    /// the duplicates two normal forms made, for an operator to merge; nothing is refused, so the
    /// migration cannot fail on them. Each table is read once (the shared forms found by grouping,
    /// not by comparing each row with every other). Only on a UTF-8 database, where `normalize()`
    /// is defined. A replica of the previous version reads and writes the rows as before.
    static let unicodeNames = Migration(version: 12, name: "unicode_names", sql: """
        DO $$
        BEGIN
            IF current_setting('server_encoding') <> 'UTF8' THEN
                RETURN;
            END IF;
            UPDATE users u SET scim_user_name = normalize(u.scim_user_name, NFC)
                FROM (
                    SELECT lower(normalize(scim_user_name, NFC)) AS form FROM users
                    WHERE scim_user_name IS NOT NULL GROUP BY 1 HAVING count(*) = 1
                ) alone
                WHERE u.scim_user_name IS NOT NULL AND u.scim_user_name IS NOT NFC NORMALIZED
                AND lower(normalize(u.scim_user_name, NFC)) = alone.form;
            UPDATE users u SET email = normalize(u.email, NFC)
                FROM (SELECT lower(normalize(email, NFC)) AS form FROM users GROUP BY 1 HAVING count(*) = 1) alone
                WHERE u.email IS NOT NFC NORMALIZED AND lower(normalize(u.email, NFC)) = alone.form;
            UPDATE users SET scim_external_id = normalize(scim_external_id, NFC)
                WHERE scim_external_id IS NOT NULL AND scim_external_id IS NOT NFC NORMALIZED;
            UPDATE users SET scim_attributes = normalize(scim_attributes::text, NFC)::jsonb
                WHERE scim_attributes IS NOT NULL AND scim_attributes::text IS NOT NFC NORMALIZED;
            UPDATE groups g SET name = normalize(g.name, NFC)
                FROM (
                    SELECT organization_id, normalize(name, NFC) AS form FROM groups GROUP BY 1, 2 HAVING count(*) = 1
                ) alone
                WHERE g.name IS NOT NFC NORMALIZED AND g.organization_id = alone.organization_id AND normalize(g.name, NFC) = alone.form;
            UPDATE groups SET scim_external_id = normalize(scim_external_id, NFC)
                WHERE scim_external_id IS NOT NULL AND scim_external_id IS NOT NFC NORMALIZED;
        END
        $$;
        """)
}
