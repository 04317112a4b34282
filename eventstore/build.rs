// `sqlx::migrate!` embeds the migration files at compile time: a new or edited migration must
// rebuild this crate, or a binary would run with the old set.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
