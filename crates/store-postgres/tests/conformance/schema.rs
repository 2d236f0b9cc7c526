//! The two stores' schemas are equivalent: the same tables, columns and indexes (with the same
//! columns), although each store has its own migrations. Differences a dialect forces are listed
//! below with their reason; anything else fails here, not in production.

use std::collections::{BTreeMap, BTreeSet};

use igny8_store::Store;
use sqlx::{Connection, PgConnection};

/// Table → columns, and (table, index) → its columns, as one database holds them.
#[derive(Debug, Default, PartialEq)]
struct Schema {
    columns: BTreeMap<String, BTreeSet<String>>,
    indexes: BTreeMap<(String, String), Vec<String>>,
}

/// Bookkeeping that only one engine has.
const ENGINE_TABLES: [&str; 2] = ["_sqlx_migrations", "sqlite_sequence"];

/// Columns only SQLite has: its read-modify-writes compare a version where PostgreSQL locks the row.
const SQLITE_ONLY_COLUMNS: [(&str, &str); 1] = [("content_sync_state", "version")];

async fn postgres_schema(url: &str) -> Schema {
    let mut c = PgConnection::connect(url).await.unwrap();
    let mut schema = Schema::default();
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns WHERE table_schema = 'public'",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    for (table, column) in rows {
        schema.columns.entry(table).or_default().insert(column);
    }
    // Explicitly created indexes only: those backing a primary key or UNIQUE constraint are named by
    // the engine and compared through the columns above.
    let rows: Vec<(String, String, Vec<String>)> = sqlx::query_as(
        "SELECT t.relname::text, i.relname::text,
                ARRAY(SELECT a.attname::text FROM unnest(ix.indkey) WITH ORDINALITY k(n, o)
                      JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.n ORDER BY k.o)
         FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_class t ON t.oid = ix.indrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace
         WHERE n.nspname = 'public' AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conindid = ix.indexrelid)",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    for (table, index, columns) in rows {
        schema.indexes.insert((table, index), columns);
    }
    schema
}

fn sqlite_schema(path: &std::path::Path) -> Schema {
    let c = rusqlite::Connection::open(path).unwrap();
    let mut schema = Schema::default();
    let tables: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for table in tables {
        let columns: BTreeSet<String> = c
            .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        schema.columns.insert(table, columns);
    }
    let indexes: Vec<(String, String)> = c
        .prepare(
            "SELECT tbl_name, name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (table, index) in indexes {
        let columns: Vec<String> = c
            .prepare(&format!(
                "SELECT name FROM pragma_index_info('{index}') ORDER BY seqno"
            ))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        schema.indexes.insert((table, index), columns);
    }
    schema
}

fn without_engine_tables(mut s: Schema) -> Schema {
    s.columns
        .retain(|t, _| !ENGINE_TABLES.contains(&t.as_str()));
    s.indexes
        .retain(|(t, _), _| !ENGINE_TABLES.contains(&t.as_str()));
    s
}

#[tokio::test]
async fn both_stores_have_the_same_tables_columns_and_indexes() {
    let url = super::fresh_database().await;
    igny8_store_postgres::PostgresStore::open(&url)
        .await
        .unwrap()
        .migrate()
        .await
        .unwrap();
    let dir = std::env::temp_dir().join(format!("igny8-schema-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("schema.db");
    let _ = std::fs::remove_file(&path);
    igny8_store_sqlite::SqliteStore::open(&format!("sqlite://{}", path.display()))
        .await
        .unwrap()
        .migrate()
        .await
        .unwrap();
    let postgres = without_engine_tables(postgres_schema(&url).await);
    let mut sqlite = without_engine_tables(sqlite_schema(&path));
    for (table, column) in SQLITE_ONLY_COLUMNS {
        assert!(
            sqlite
                .columns
                .get_mut(table)
                .is_some_and(|c| c.remove(column)),
            "{table}.{column} is listed as SQLite's own but SQLite lacks it"
        );
    }
    let tables = |s: &Schema| s.columns.keys().cloned().collect::<BTreeSet<_>>();
    assert_eq!(tables(&sqlite), tables(&postgres), "tables");
    for (table, columns) in &sqlite.columns {
        assert_eq!(
            Some(columns),
            postgres.columns.get(table),
            "columns of {table}"
        );
    }
    assert_eq!(
        sqlite.indexes, postgres.indexes,
        "indexes and their columns"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
