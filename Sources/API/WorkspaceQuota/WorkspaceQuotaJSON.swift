import Foundation
import Hummingbird

extension WorkspaceQuotaController {
    /// The seed's `{budget, credits_consumed}`, plus `allowances`, which says where the budget
    /// comes from (coder/coder#6271).
    struct QuotaJSON: ResponseEncodable {
        struct AllowanceJSON: Encodable {
            let group_id: UUID
            let group_name: String
            let quota_allowance: Int64
        }
        let credits_consumed: Int64
        let budget: Int64
        let allowances: [AllowanceJSON]
    }
}
