//! Cursor pagination: every list answers one [`Page`] (`data`, `next_cursor`); passing
//! `next_cursor` back as `cursor` gets the next one, stable while new items arrive.
//! [`collect_all`] follows the cursors to the end.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::models::Schema;

/// One page of a list: `data`, and the cursor of the next page. Lists are newest first (event
/// types by name).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items of this page.
    pub data: Vec<T>,
    /// Pass as `cursor` to get the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

impl<T: Schema + DeserializeOwned> Schema for Page<T> {
    #[cfg(test)]
    fn name() -> Option<String> {
        T::name().map(|item| format!("Page_{item}"))
    }

    fn decode(body: &[u8]) -> serde_json::Result<Self> {
        serde_json::from_slice(body)
    }
}

/// Every item of a list, following `next_cursor` until the last page. `fetch` gets the cursor to
/// pass (`None` for the first page) and lists one page:
///
/// ```no_run
/// # async fn example(client: outhook_sdk::Client) -> Result<(), outhook_sdk::Error> {
/// use outhook_sdk::collect_all;
/// use outhook_sdk::models::ListQuery;
///
/// let endpoints = collect_all(async |cursor| {
///     client.list_endpoints("acme", &ListQuery { limit: Some(250), cursor }).await
/// })
/// .await?;
/// # Ok(()) }
/// ```
///
/// For lists too long to hold in memory, call the list method in a loop instead and handle each
/// page as it comes.
pub async fn collect_all<T>(
    mut fetch: impl AsyncFnMut(Option<String>) -> Result<Page<T>, Error>,
) -> Result<Vec<T>, Error> {
    let mut items = Vec::new();
    let mut cursor = None;
    loop {
        let page = fetch(cursor.take()).await?;
        items.extend(page.data);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(items),
        }
    }
}
