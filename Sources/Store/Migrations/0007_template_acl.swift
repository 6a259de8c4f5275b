import Postgres

extension Schema {
    /// Template ACLs and group lookups.
    ///
    /// - `templates.user_acl` and `group_acl` (made by migration 3, unused until now) map a user
    ///   or group id to its template role, `admin` or `use`. Every template that has none gets
    ///   Everyone `use` (the Everyone group's id is its organization's), so that nobody loses
    ///   access to a template when ACLs start to be enforced.
    /// - `group_members` is read by group (a group's members) as well as by user.
    static let templateACL = Migration(version: 7, name: "template_acl", sql: """
        UPDATE templates SET group_acl = jsonb_build_object(organization_id::text, 'use')
            WHERE group_acl = '{}'::jsonb AND user_acl = '{}'::jsonb;
        CREATE INDEX group_members_group ON group_members (group_id);
        """)
}
