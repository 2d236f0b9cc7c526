//! The conformance suite: the same cases run against every `Store` implementation, so the SQLite
//! and PostgreSQL stores cannot drift apart. A dev-dependency only: the production binary never
//! links it. An implementation's tests call `igny8_store_conformance::conformance_suite!(make_store)`
//! where `make_store()` returns a fresh, migrated, empty `Arc<dyn Store>`; one module per area.

use std::sync::Arc;

use igny8_store::{NewUser, Store};

pub mod accounts;
pub mod changes;
pub mod content;
pub mod integrations;
pub mod sign_in;
pub mod site_batch;
pub mod site_url;
pub mod structure;
pub mod sync_state;

/// Generates one `#[tokio::test]` per conformance case in the calling module.
#[macro_export]
macro_rules! conformance_suite {
    ($make:path) => {
        $crate::conformance_suite!(@area $make; accounts;
            users_are_unique_by_email, users_are_found_by_email_and_id,
            sites_belong_to_their_account, site_activation_is_stored,
            api_keys_are_found_by_prefix_and_revoked_per_site, api_key_use_is_recorded,
            server_secret_first_writer_wins, unicode_and_markup_are_stored_verbatim);
        $crate::conformance_suite!(@area $make; integrations;
            integrations_are_one_per_site_and_platform, config_changes_keep_other_keys,
            rejected_config_change_writes_nothing, concurrent_config_changes_lose_nothing,
            sync_outcome_is_recorded);
        $crate::conformance_suite!(@area $make; content;
            content_upserts_are_idempotent_and_stored_verbatim,
            older_changes_are_stale_equal_ones_apply_again,
            trash_restore_and_delete_follow_wordpress, range_markers_delete_what_the_batch_lacks,
            content_is_isolated_per_integration, checksums_equal_the_domains,
            read_times_break_ties_and_the_plugins_checksums_are_kept,
            counts_and_lists_follow_the_rules, pruning_keeps_enabled_types_up_to_their_max_id,
            a_batch_is_all_or_nothing_when_its_caller_goes_away, concurrent_batches_lose_nothing,
            a_deleted_post_stays_deleted_when_an_older_upsert_arrives_late);
        $crate::conformance_suite!(@area $make; site_batch;
            site_batches_are_checked_then_applied_with_their_outcome,
            a_site_batch_and_its_outcome_commit_together, concurrent_site_batches_lose_nothing);
        $crate::conformance_suite!(@area $make; sync_state;
            sync_state_steps_are_stored_and_refusals_write_nothing,
            range_markers_move_the_running_full_syncs_progress);
        $crate::conformance_suite!(@area $make; sign_in;
            sessions_end_everywhere_at_once, sign_in_limits_count_per_key_within_the_window,
            sign_in_limits_hold_under_concurrent_attempts, only_one_first_user_however_many_race,
            refresh_tokens_rotate_once_and_reuse_ends_the_family,
            racing_refreshes_of_one_token_let_one_through_and_end_the_family);
        $crate::conformance_suite!(@area $make; structure;
            structure_pushes_are_checked_then_applied, concurrent_structure_pushes_lose_nothing,
            concurrent_structure_pushes_are_each_decided_on_their_own);
        $crate::conformance_suite!(@area $make; changes;
            changes_are_numbered_per_integration_and_keys_make_retries_safe,
            pending_changes_are_delivered_in_order_until_reported,
            outcomes_are_recorded_per_integration_and_over_a_late_cancellation,
            a_resolution_queues_the_next_change_in_the_same_step,
            receivers_are_replaced_and_nudges_recorded,
            concurrent_writers_and_pulls_skip_nothing_and_deliver_once_as_new);
        $crate::conformance_suite!(@area $make; site_url;
            the_first_reported_address_is_adopted_and_kept,
            racing_first_reports_adopt_exactly_one_address,
            a_copys_address_is_recorded_until_a_move_forgets_it,
            structure_pushes_adopt_an_address_and_refuse_another,
            racing_pushes_from_two_addresses_adopt_one_and_refuse_the_other);
    };
    (@area $make:path; $area:ident; $($case:ident),* $(,)?) => {
        mod $area {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    $crate::$area::$case($make().await).await;
                }
            )*
        }
    };
}

type S = Arc<dyn Store>;

async fn user(store: &S, email: &str) -> igny8_store::User {
    store
        .create_user_with_account(NewUser {
            email,
            password_hash: "$argon2id$fake",
            account_name: "Acme",
        })
        .await
        .expect("create user")
}

/// A new account, its site and the site's WordPress integration; answers the integration's id.
pub async fn integration(store: &S, email: &str) -> i64 {
    let u = user(store, email).await;
    let site = store
        .create_site(u.account_id, "Blog", "https://a.example")
        .await
        .unwrap();
    store
        .ensure_integration(site.id, "wordpress")
        .await
        .unwrap()
        .0
        .id
}
