//! Channels, their endpoints (base URLs) and credentials (API keys).

use super::{switch_action, Admin};
use crate::core::channels::{self, Channel, ChannelSettings, NewChannel};
use crate::core::crypto::KeyCipher;
use crate::core::error::StoreError;

/// What the audit log says of a channel's settings.
fn settings_detail(c: &Channel) -> String {
    format!(
        "type {}, priority {}, weight {}",
        c.kind.as_str(),
        c.priority,
        c.weight
    )
}

fn key_detail(hint: &str) -> String {
    format!("key ••••{hint}")
}

impl Admin {
    /// Creates a channel with its first endpoints and keys.
    pub async fn create_channel(
        &self,
        cipher: &KeyCipher,
        new: NewChannel<'_>,
    ) -> Result<Channel, StoreError> {
        let channel = channels::create(&self.db, cipher, new).await?;
        self.audit("channel.create", &channel.name, &settings_detail(&channel))
            .await?;
        Ok(channel)
    }

    pub async fn update_channel(
        &self,
        id: i64,
        settings: &ChannelSettings,
    ) -> Result<Channel, StoreError> {
        let channel = channels::update(&self.db, id, settings).await?;
        self.audit("channel.update", &channel.name, &settings_detail(&channel))
            .await?;
        Ok(channel)
    }

    /// Sets what the channel drops from requests before sending them upstream.
    pub async fn set_channel_filter(
        &self,
        id: i64,
        filter: &crate::types::RequestFilter,
    ) -> Result<Channel, StoreError> {
        let channel = channels::set_filter(&self.db, id, filter).await?;
        let detail = format!(
            "drops betas [{}], fields [{}]",
            channel.filter.betas.join(", "),
            channel.filter.fields.join(", ")
        );
        self.audit("channel.filter", &channel.name, &detail).await?;
        Ok(channel)
    }

    pub async fn set_channel_enabled(&self, id: i64, enabled: bool) -> Result<Channel, StoreError> {
        let channel = channels::set_enabled(&self.db, id, enabled).await?;
        self.audit(&switch_action("channel", enabled), &channel.name, "")
            .await?;
        Ok(channel)
    }

    /// Deletes a channel with its endpoints, keys and bindings (usage history keeps its name).
    pub async fn delete_channel(&self, id: i64) -> Result<Channel, StoreError> {
        let channel = channels::delete(&self.db, id).await?;
        self.audit("channel.delete", &channel.name, "").await?;
        Ok(channel)
    }

    /// Adds a base URL; returns it as stored.
    pub async fn add_endpoint(
        &self,
        channel_id: i64,
        base_url: &str,
    ) -> Result<String, StoreError> {
        let url = channels::add_endpoint(&self.db, channel_id, base_url).await?;
        self.part_changed(channel_id, "endpoint.add", &url).await?;
        Ok(url)
    }

    /// Removes a base URL (never the channel's last one); returns the URL removed.
    pub async fn remove_endpoint(
        &self,
        channel_id: i64,
        endpoint_id: i64,
    ) -> Result<String, StoreError> {
        let url = channels::remove_endpoint(&self.db, channel_id, endpoint_id).await?;
        self.part_changed(channel_id, "endpoint.remove", &url)
            .await?;
        Ok(url)
    }

    /// Adds an API key, encrypted with `cipher`; returns its hint (the key itself is never shown).
    pub async fn add_credential(
        &self,
        cipher: &KeyCipher,
        channel_id: i64,
        key: &str,
    ) -> Result<String, StoreError> {
        let hint = channels::add_credential(&self.db, cipher, channel_id, key).await?;
        self.part_changed(channel_id, "credential.add", &key_detail(&hint))
            .await?;
        Ok(hint)
    }

    pub async fn set_credential_enabled(
        &self,
        channel_id: i64,
        credential_id: i64,
        enabled: bool,
    ) -> Result<String, StoreError> {
        let hint =
            channels::set_credential_enabled(&self.db, channel_id, credential_id, enabled).await?;
        let action = switch_action("credential", enabled);
        self.part_changed(channel_id, &action, &key_detail(&hint))
            .await?;
        Ok(hint)
    }

    /// Removes an API key (never the channel's last one); returns the hint of the key removed.
    pub async fn remove_credential(
        &self,
        channel_id: i64,
        credential_id: i64,
    ) -> Result<String, StoreError> {
        let hint = channels::remove_credential(&self.db, channel_id, credential_id).await?;
        self.part_changed(channel_id, "credential.remove", &key_detail(&hint))
            .await?;
        Ok(hint)
    }

    /// Records a change to one of a channel's parts under the channel's name.
    async fn part_changed(
        &self,
        channel_id: i64,
        action: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        let channel = channels::get(&self.db, channel_id).await?;
        self.audit(action, &channel.name, detail).await
    }
}
