/** comfy_api.feature_flags.get_server_features, as the captured server answered /features. */
export const SERVER_FEATURES = {
  supports_preview_metadata: true,
  max_upload_size: 104857600,
  extension: { manager: { supports_v4: true } },
};
