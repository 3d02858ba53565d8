// The dashboard's pages, embedded in the binary: the files esbuild built
// from web/ (index.html, app.js, app.css) and the OpenAPI description of
// the API (src/ui/openapi.json), turned into a C++ source at build time
// (cmake/embed_assets.cmake). A build without web/node_modules has no
// pages; then `enclave ui` says how to build them and serves the API only.
// Thread safety: immutable data.
#pragma once

#include <span>
#include <string_view>

namespace enclave::ui {

struct Asset {
  std::string_view path;          // "/index.html", "/assets/app.js"
  std::string_view content_type;  // "text/html; charset=utf-8", ...
  std::string_view body;
};

// The built pages; empty when they were not built.
std::span<const Asset> built_assets();
// src/ui/openapi.json.
std::string_view openapi_json();

}  // namespace enclave::ui
