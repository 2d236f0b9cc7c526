//! The dashboard's tests, one binary: pages over plain HTTP (`pages`, `two_way`) and stories in
//! Debian's headless Chromium through chromedriver (`story`, `two_way_story`), sharing the setup
//! in `app`.

mod app;
mod browser;
mod pages;
mod site_copy;
mod story;
mod two_way;
mod two_way_story;
