//! The plugin the platform serves installs through WordPress's own upgrader, as a site owner's
//! Plugins → Add New → Upload (or an update) does, and activates.

use anyhow::{ensure, Result};
use igny8_wp_e2e::igny8::Server;
use igny8_wp_e2e::wordpress::WordPress;
use igny8_wp_e2e::Scratch;
use std::path::Path;

#[tokio::test]
async fn the_served_plugin_zip_installs_and_activates_in_wordpress() -> Result<()> {
    let scratch = Scratch::new("downloads")?;
    let result = install_story(&scratch.path).await;
    scratch.finish(result)
}

async fn install_story(dir: &Path) -> Result<()> {
    let igny8 = Server::start(dir).await?;
    let wp = WordPress::up(&dir.join("wp"))?;
    let info: serde_json::Value =
        reqwest::get(format!("{}/downloads/igny8-wp-plugin.json", igny8.base_url))
            .await?
            .json()
            .await?;
    let package = info["package"].as_str().unwrap_or_default().to_owned();
    ensure!(
        package.ends_with("/downloads/igny8-wp-plugin.zip"),
        "{info}"
    );
    // The harness links the working copy in; a site owner starts without it.
    wp.php(
        "require_once ABSPATH . 'wp-admin/includes/plugin.php';
         deactivate_plugins('igny8-wp-plugin/igny8-wp-plugin.php');
         unlink(WP_PLUGIN_DIR . '/igny8-wp-plugin');",
    )?;
    let installed = wp.php_json(&format!(
        r#"require_once ABSPATH . 'wp-admin/includes/admin.php';
        require_once ABSPATH . 'wp-admin/includes/class-wp-upgrader.php';
        require_once ABSPATH . 'wp-admin/includes/plugin.php';
        $skin = new WP_Ajax_Upgrader_Skin();
        $result = (new Plugin_Upgrader($skin))->install('{package}');
        $file = 'igny8-wp-plugin/igny8-wp-plugin.php';
        $activated = activate_plugin($file);
        $data = get_plugin_data(WP_PLUGIN_DIR . '/' . $file, false, false);
        echo wp_json_encode(array(
            'installed' => $result,
            'errors'    => $skin->get_error_messages(),
            'activated' => null === $activated,
            'active'    => is_plugin_active($file),
            'linked'    => is_link(WP_PLUGIN_DIR . '/igny8-wp-plugin'),
            'tests'     => file_exists(WP_PLUGIN_DIR . '/igny8-wp-plugin/tests'),
            'version'   => $data['Version'],
        ));"#
    ))?;
    ensure!(installed["installed"] == true, "install: {installed}");
    ensure!(
        installed["activated"] == true && installed["active"] == true,
        "activate: {installed}"
    );
    ensure!(
        installed["linked"] == false,
        "a real copy, not the harness's link: {installed}"
    );
    ensure!(
        installed["tests"] == false,
        "the plugin's tests are not shipped: {installed}"
    );
    ensure!(
        installed["version"] == info["version"],
        "{installed} vs {info}"
    );
    Ok(())
}
