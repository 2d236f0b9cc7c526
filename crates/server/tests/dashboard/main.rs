//! The dashboard's tests, one binary: pages over plain HTTP (`pages`) and the whole story in
//! Debian's headless Chromium through chromedriver (`story`), sharing the setup in `app`.

mod app;
mod browser;
mod pages;
mod story;
