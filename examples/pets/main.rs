//! The example from Streamlit's "Connecting to data" docs, in Rust.
//!
//! Run it with `cargo run --example pets`. Like `streamlit run`, it works from its app folder
//! (`examples/pets/`): the connection `pets_db` comes from `.streamlit/secrets.toml` there, and
//! `pets.db` is created next to it. Running it again gives the same output.

use dataconn::{SqlConnection, params};

#[tokio::main]
async fn main() -> dataconn::Result<()> {
    std::env::set_current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/pets"))
        .expect("the example's app folder exists in the repository");

    let conn = dataconn::connection::<SqlConnection>("pets_db").await?;

    let mut s = conn.session().await?;
    s.execute(
        "CREATE TABLE IF NOT EXISTS pet_owners (person TEXT, pet TEXT)",
        params! {},
    )
    .await?;
    s.execute("DELETE FROM pet_owners", params! {}).await?;
    let pets = [("jerry", "fish"), ("barbara", "cat"), ("alex", "puppy")];
    for (owner, pet) in pets {
        s.execute(
            "INSERT INTO pet_owners VALUES (:owner, :pet)",
            params! { owner: owner, pet: pet },
        )
        .await?;
    }
    s.commit().await?;

    let df = conn.query("select * from pet_owners").ttl("10m").await?;
    println!("{df}");

    let again = conn.query("select * from pet_owners").ttl("10m").await?;
    let stats = dataconn::connections()?.cache().stats();
    println!(
        "{} rows; the second query was served from the cache ({} hit, {} miss)",
        again.num_rows(),
        stats.hits,
        stats.misses
    );
    Ok(())
}
