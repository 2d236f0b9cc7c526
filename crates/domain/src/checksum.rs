//! Integrity checksums both ends compute the same way (docs/sync-protocol.md, "Integrity"): CRC-32
//! of a post's or term's identity line, summed per bucket of ids, compared to find what differs.

use std::collections::BTreeMap;

/// Ids per bucket unless the plugin says otherwise.
pub const BUCKET_SIZE: i64 = 10_000;
/// Largest bucket the platform accepts: its sum of 32-bit checksums still fits in 63 bits.
pub const MAX_BUCKET_SIZE: i64 = 1_000_000;

/// IEEE CRC-32 (reflected, polynomial 0xEDB88320), as MySQL's `CRC32()` and PHP's `crc32()`.
pub fn crc32(bytes: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            table[i] = c;
            i += 1;
        }
        table
    };
    !bytes.iter().fold(!0u32, |c, &b| {
        TABLE[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8)
    })
}

/// `CRC32(CONCAT_WS('#', ID, post_modified_gmt, post_status))`.
pub fn post_checksum(wp_id: i64, modified_gmt: &str, status: &str) -> u32 {
    crc32(format!("{wp_id}#{modified_gmt}#{status}").as_bytes())
}

/// `CRC32(CONCAT_WS('#', term_id, parent, slug))`.
pub fn term_checksum(wp_id: i64, parent: i64, slug: &str) -> u32 {
    crc32(format!("{wp_id}#{parent}#{slug}").as_bytes())
}

/// The first id of the bucket holding `wp_id`.
pub fn bucket_start(wp_id: i64, bucket_size: i64) -> i64 {
    wp_id.div_euclid(bucket_size) * bucket_size
}

/// One bucket of ids `[start, start + size - 1]`: how many items it holds and their checksums'
/// sum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Bucket {
    pub start: i64,
    pub count: u64,
    pub sum: u64,
}

/// The buckets of `(wp_id, checksum)` pairs, by start; empty buckets are absent.
pub fn buckets(items: impl IntoIterator<Item = (i64, u32)>, bucket_size: i64) -> Vec<Bucket> {
    let mut by_start: BTreeMap<i64, Bucket> = BTreeMap::new();
    for (wp_id, checksum) in items {
        let start = bucket_start(wp_id, bucket_size);
        let b = by_start.entry(start).or_insert(Bucket {
            start,
            count: 0,
            sum: 0,
        });
        b.count += 1;
        b.sum += u64::from(checksum);
    }
    by_start.into_values().collect()
}

/// The starts of buckets that differ between the platform's and WordPress's lists; a bucket only
/// one side has differs (an empty bucket is simply absent).
pub fn differing_buckets(platform: &[Bucket], wordpress: &[Bucket]) -> Vec<i64> {
    let ours: BTreeMap<i64, &Bucket> = platform.iter().map(|b| (b.start, b)).collect();
    let theirs: BTreeMap<i64, &Bucket> = wordpress
        .iter()
        .filter(|b| b.count > 0)
        .map(|b| (b.start, b))
        .collect();
    let mut starts: Vec<i64> = ours.keys().chain(theirs.keys()).copied().collect();
    starts.sort_unstable();
    starts.dedup();
    starts
        .into_iter()
        .filter(|s| match (ours.get(s), theirs.get(s)) {
            (Some(a), Some(b)) => (a.count, a.sum) != (b.count, b.sum),
            _ => true,
        })
        .collect()
}

/// What repairs one bucket: ids WordPress has that the platform lacks or holds differently (the
/// plugin re-sends them), and ids the platform holds that WordPress does not (deleted here).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemDiff {
    pub resend: Vec<i64>,
    pub delete: Vec<i64>,
}

impl ItemDiff {
    pub fn is_empty(&self) -> bool {
        self.resend.is_empty() && self.delete.is_empty()
    }
}

/// Compares per-item checksums of one id range.
pub fn compare_items(platform: &[(i64, u32)], wordpress: &[(i64, u32)]) -> ItemDiff {
    let ours: BTreeMap<i64, u32> = platform.iter().copied().collect();
    let theirs: BTreeMap<i64, u32> = wordpress.iter().copied().collect();
    ItemDiff {
        resend: theirs
            .iter()
            .filter(|(id, sum)| ours.get(id) != Some(sum))
            .map(|(id, _)| *id)
            .collect(),
        delete: ours
            .keys()
            .filter(|id| !theirs.contains_key(id))
            .copied()
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_ieee_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
        assert_eq!(
            crc32(b"The quick brown fox jumps over the lazy dog"),
            0x414F_A339
        );
    }

    #[test]
    fn item_checksums_hash_the_identity_line_as_mysql_concat_ws() {
        assert_eq!(
            post_checksum(12, "2025-11-22 10:00:00", "publish"),
            crc32(b"12#2025-11-22 10:00:00#publish")
        );
        assert_eq!(term_checksum(3, 0, "fiction"), crc32(b"3#0#fiction"));
        assert_ne!(
            post_checksum(12, "2025-11-22 10:00:00", "publish"),
            post_checksum(12, "2025-11-22 10:00:00", "trash")
        );
    }

    #[test]
    fn buckets_sum_checksums_per_id_range() {
        let b = buckets(
            [(1, 10), (9_999, 20), (10_000, 5), (25_000, u32::MAX)],
            10_000,
        );
        assert_eq!(
            b,
            vec![
                Bucket {
                    start: 0,
                    count: 2,
                    sum: 30
                },
                Bucket {
                    start: 10_000,
                    count: 1,
                    sum: 5
                },
                Bucket {
                    start: 20_000,
                    count: 1,
                    sum: u64::from(u32::MAX)
                },
            ]
        );
        assert_eq!(bucket_start(0, 10_000), 0);
        assert_eq!(bucket_start(19_999, 10_000), 10_000);
    }

    #[test]
    fn differing_buckets_include_those_one_side_lacks() {
        let ours = buckets([(1, 10), (10_001, 7), (30_000, 1)], 10_000);
        let theirs = vec![
            Bucket {
                start: 0,
                count: 1,
                sum: 10,
            },
            Bucket {
                start: 10_000,
                count: 1,
                sum: 8,
            },
            Bucket {
                start: 20_000,
                count: 1,
                sum: 3,
            },
            Bucket {
                start: 40_000,
                count: 0,
                sum: 0,
            },
        ];
        assert_eq!(
            differing_buckets(&ours, &theirs),
            vec![10_000, 20_000, 30_000]
        );
        assert!(differing_buckets(&ours, &ours).is_empty());
    }

    #[test]
    fn item_comparison_names_what_to_resend_and_delete() {
        let diff = compare_items(&[(1, 10), (2, 20), (4, 40)], &[(1, 10), (2, 21), (3, 30)]);
        assert_eq!(
            diff,
            ItemDiff {
                resend: vec![2, 3],
                delete: vec![4]
            }
        );
        assert!(compare_items(&[(1, 1)], &[(1, 1)]).is_empty());
    }
}
