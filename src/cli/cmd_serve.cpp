// `enclave serve`: the OpenAI-compatible server (src/serve/server.h).
#include <fmt/format.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/error.h"
#include "serve/server.h"
#include "store/audit_key.h"
#include "ui/dashboard.h"

namespace enclave::cli {
namespace {

struct ServeFlags {
  serve::ServeOptions options;
  std::vector<std::string> adapters;
  std::string api_keys;
  std::string workspace;
  bool no_request_log = false;
  bool no_redact = false;
  bool ui = false;
  bool no_prefix_cache = false;
  ComputeFlags compute;
};

void run_serve(ServeFlags& flags) {
  serve::ServeOptions options = flags.options;
  options.model_ref = gguf_as_folder(options.model_ref, options.workspace);
  for (const std::string& spec : flags.adapters) {
    const std::size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
      fail_input("--adapter '{}': expected NAME=DIR or NAME=REF", spec);
    }
    const std::string ref = spec.substr(eq + 1);
    const auto dir = store::resolve_adapter_ref(ref, resolve_options(flags.workspace));
    if (!options.adapters.emplace(spec.substr(0, eq), dir).second) {
      fail_input("--adapter: the name '{}' is given twice", spec.substr(0, eq));
    }
    // A registry reference is kept so requests link to the adapter's version.
    if (!std::filesystem::is_directory(ref)) options.adapter_refs[spec.substr(0, eq)] = ref;
  }
  options.api_keys = flags.api_keys;
  options.workspace = workspace_flag(flags.workspace);
  options.request_log = !flags.no_request_log;
  options.redact = !flags.no_redact;
  options.prefix_cache = !flags.no_prefix_cache;
  const DtypeChoice dtype = compute_dtype(flags.compute);
  options.engine.dtype = dtype.dtype;
  options.engine.device = flags.compute.device;
  options.engine.threads = flags.compute.threads;
  options.engine.chat_template = flags.compute.chat_template;
  std::fprintf(stderr, "enclave serve: compute dtype %s (%s)\n", dtype.dtype.c_str(),
               dtype.reason.c_str());
  // --ui: the dashboard on the server's port, over the same workspace.
  std::unique_ptr<ui::Dashboard> dashboard;
  if (flags.ui) {
    dashboard = std::make_unique<ui::Dashboard>(ui::DashboardOptions{
        .workspace_root = workspace_root(flags.workspace), .api_keys = options.api_keys});
    options.extra_routes = [&dashboard](serve::HttpTransport& http) { dashboard->mount(http); };
    options.on_listening = [&dashboard](const std::string& url, const serve::Server& server) {
      dashboard->watch_server([&server] { return server.status(); });
      if (!ui::Dashboard::has_pages())
        std::fprintf(stderr, "enclave serve: %s\n", ui::Dashboard::pages_missing_note().c_str());
      std::fprintf(stderr, "enclave serve: dashboard at %s\n", dashboard->sign_in_url(url).c_str());
    };
  }
  serve::run_server(options);
}

}  // namespace

void register_serve(CLI::App& app) {
  auto flags = std::make_shared<ServeFlags>();
  serve::ServeOptions& o = flags->options;
  CLI::App* cmd = app.add_subcommand("serve");
  cmd->add_option("--model", o.model_ref,
                  "Model directory or registry reference (name, name@3, name:alias)")
      ->required();
  cmd->add_option("--adapter", flags->adapters,
                  "LoRA adapter served as model NAME: NAME=DIR or NAME=REF (repeatable)");
  cmd->add_option("--host", o.host, "Address to listen on (beyond loopback only with --api-keys)")
      ->capture_default_str();
  cmd->add_option("--port", o.port, "Port (0: any free port)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->add_option("--api-keys", flags->api_keys,
                  "Keys file (hashed keys with scopes; see `enclave api-keys add`)");
  cmd->add_option("--tls-cert", o.tls_cert, "Serve HTTPS with this PEM certificate (chain)");
  cmd->add_option("--tls-key", o.tls_key, "The PEM private key of --tls-cert");
  cmd->add_option("--max-concurrency", o.max_concurrency, "Sequences decoded together in the batch")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_option("--max-queue", o.max_queue, "Requests that may wait for a slot; more get 503")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_option("--ctx", o.ctx,
                  "Tokens per sequence, prompt + output (0: the model's context, at most 4096)")
      ->check(CLI::Range(0, 1 << 24));
  cmd->add_option("--kv-cache-mb", o.kv_cache_mb,
                  "KV cache pool per loaded model, in MiB, taken in blocks as sequences grow; "
                  "requests that do not fit wait (0: what --ctx x --max-concurrency need)")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1} << 30))
      ->capture_default_str();
  cmd->add_option("--prefill-chunk", o.prefill_chunk,
                  "Prompt tokens prefilled per step between the other streams' tokens (0: whole "
                  "prompts at once)")
      ->check(CLI::Range(0, 1 << 24))
      ->capture_default_str();
  cmd->add_flag("--no-prefix-cache", flags->no_prefix_cache,
                "Do not reuse the KV cache of prompt prefixes seen before");
  cmd->add_option("--max-body-bytes", o.max_body_bytes, "Largest request body; larger get 413")
      ->check(CLI::Range(1024, 1 << 30))
      ->capture_default_str();
  cmd->add_option("--max-tokens-limit", o.max_tokens_limit,
                  "Largest max_tokens a request may ask for")
      ->check(CLI::Range(1, 1 << 24))
      ->capture_default_str();
  cmd->add_option("--default-max-tokens", o.default_max_tokens,
                  "max_tokens of chat requests that set none")
      ->check(CLI::Range(1, 1 << 24))
      ->capture_default_str();
  cmd->add_option("--request-timeout", o.request_timeout_seconds,
                  "Seconds a request may take, waiting included")
      ->check(CLI::Range(0.01, 86400.0))
      ->capture_default_str();
  cmd->add_option("--read-deadline", o.request_deadline_seconds,
                  "Seconds in which a request's headers and body must arrive")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  cmd->add_option("--max-connections-per-address", o.max_connections_per_address,
                  "Connections one client address may hold open; more get 429")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_option("--retention-days", o.retention_days,
                  "Days the request log keeps a request (0: forever)")
      ->check(CLI::Range(0.0, 36500.0))
      ->capture_default_str();
  cmd->add_option("--watch-seconds", o.watch_seconds,
                  "Poll a registry reference this often and reload when it moves (0: off)")
      ->check(CLI::Range(0.0, 86400.0))
      ->capture_default_str();
  cmd->add_flag("--no-request-log", flags->no_request_log,
                "Do not store requests in the workspace");
  cmd->add_flag("--no-redact", flags->no_redact,
                "Store prompts and completions without PII redaction");
  cmd->add_flag("--ui", flags->ui,
                "Also serve the dashboard (`enclave ui`) on this port, signed in with the same "
                "keys");
  cmd->add_option_function<std::string>(
      "--audit-key-file", [](const std::string& file) { store::set_audit_key_file(file); },
      "Key of the workspace's audit chain, for the reloads the server records "
      "(default: $ENCLAVE_AUDIT_KEY_FILE)");
  add_workspace_flag(*cmd, flags->workspace);
  add_compute_flags(*cmd, flags->compute);
  add_chat_template_flag(*cmd, flags->compute);
  cmd->callback([flags] { run_serve(*flags); });
}

}  // namespace enclave::cli
