#include "daemon/daemon.h"

#include <signal.h>
#include <unistd.h>

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include "config/config_holder.h"
#include "daemon/listen_socket.h"
#include "daemon/root_lock.h"
#include "daemon/state_metrics.h"
#include "metrics/http_endpoint.h"
#include "runtime/conmon_runtime.h"
#include "server/backend.h"
#include "server/image_service.h"
#include "server/metrics_interceptor.h"
#include "server/runtime_service.h"
#include "stream/container_stream_backend.h"
#include "stream/stream_server.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"

namespace crid {

namespace {

sigset_t handled_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

// Creates `dir` if needed; on failure later in start-up, `undo` removes what
// this start-up created, so a failed start leaves the host as it was.
Status make_state_dir(const std::string& dir, const char* what, Cleanup& undo) {
  bool existed = fs::exists(dir);
  CRID_TRY_CTX(fs::make_dirs(dir, 0700), "creating {} {}", what, dir);
  if (::access(dir.c_str(), W_OK) != 0)
    return sys_error("{} {} is not writable", what, dir);
  if (!existed) undo.add("remove " + dir, [dir] { (void)fs::remove_all(dir); });
  return Ok();
}

void reload(const ConfigSources& sources, ConfigHolder& holder) {
  auto next = load_config(sources);
  if (!next) {
    spdlog::error("[reload] keeping the current config: {}", next.error().message());
    return;
  }
  Config live = *holder.get();
  auto changes = reloadable_changes(live, *next);
  if (changes.empty()) {
    spdlog::info("[reload] config re-read; no reloadable setting changed");
    return;
  }
  apply_reloadable(live, *next);
  // Report before applying the level: a quieter level would hide the report.
  for (auto& c : changes) spdlog::info("[reload] {}", c);
  if (auto lvl = log::parse_level(live.log_level)) spdlog::set_level(*lvl);
  holder.set(std::move(live));
}

Status start_stream_server(const Config& cfg, server::Backend& backend) {
  stream::StreamServerOptions opts;
  opts.address = cfg.stream_address;
  opts.port = static_cast<uint16_t>(cfg.stream_port);
  opts.tls_cert = cfg.stream_tls_cert;
  opts.tls_key = cfg.stream_tls_key;
  opts.max_sessions = static_cast<size_t>(cfg.max_streams);
  opts.idle_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(cfg.stream_idle_timeout);
  auto srv = stream::StreamServer::start(std::move(opts), *backend.stream_backend);
  if (!srv) return srv.error().wrap("starting the streaming server");
  backend.stream_server = std::move(srv).value();
  spdlog::info("streaming server (exec, attach, port-forward) on {}",
               backend.stream_server->base_url());
  return Ok();
}

}  // namespace

void block_daemon_signals() {
  sigset_t set = handled_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
}

Status run_daemon(const ConfigSources& sources, Config cfg) {
  Cleanup undo;
  CRID_TRY(make_state_dir(cfg.root, "root", undo));
  CRID_TRY(make_state_dir(cfg.runroot, "runroot", undo));
  CRID_ASSIGN(UniqueFd lock, lock_root(cfg.root));
  CRID_TRY(prepare_socket_path(cfg.listen));

  ConfigHolder holder(cfg);
  server::Backend backend(holder);
  CRID_ASSIGN(backend.db, store::Database::open(cfg.root + "/crid.db"));
  backend.events = std::make_unique<events::EventHub>(static_cast<size_t>(cfg.event_queue_length));
  CRID_ASSIGN(backend.pods,
              sandbox::SandboxManager::open(holder, *backend.db,
                                            [&backend] { return backend.current_pod_cidr(); }));
  auto images = image::ImageService::open(holder, *backend.db);
  if (!images) return images.error().wrap("opening the image store");
  backend.images = std::move(images).value();
  backend.runtime = std::make_unique<runtime::ConmonRuntime>();
  CRID_ASSIGN(backend.containers,
              container::ContainerManager::open({holder, *backend.db, *backend.pods, *backend.images,
                                                 *backend.runtime, backend.events.get()}));
  backend.stats = std::make_unique<stats::StatsService>(stats::StatsService::Deps{
      *backend.containers, *backend.pods, stats::CgroupReader::for_host(), cfg.root + "/containers"});
  add_state_metrics(backend.metrics_registry, backend);
  // Off unless configured; a bad address stops start-up with a clear error.
  std::unique_ptr<metrics::MetricsEndpoint> metrics_endpoint;
  if (!cfg.metrics_address.empty()) {
    auto where = metrics::parse_listen_address(cfg.metrics_address);
    if (!where) return where.error().wrap("metrics_address");
    auto ep = metrics::MetricsEndpoint::start(*where,
                                              [&backend] { return backend.metrics_registry.render(); });
    if (!ep) return ep.error();
    metrics_endpoint = std::move(ep).value();
  }
  backend.stream_backend = std::make_unique<stream::ContainerStreamBackend>(
      *backend.containers, *backend.pods, *backend.runtime);
  CRID_TRY(start_stream_server(cfg, backend));
  server::RuntimeServiceImpl runtime_service(backend);
  server::ImageServiceImpl image_service(backend);

  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix://" + cfg.listen, grpc::InsecureServerCredentials());
  builder.RegisterService(&runtime_service);
  builder.RegisterService(&image_service);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(server::make_metrics_interceptor_factory(backend.metrics));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  // Node-sized answers (thousands of containers) exceed gRPC's 4 MiB default.
  builder.SetMaxSendMessageSize(16 << 20);
  builder.SetMaxReceiveMessageSize(16 << 20);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server)
    return make_error(ErrorKind::kUnavailable, "cannot listen on {}", cfg.listen);
  undo.add("remove socket", [&] { ::unlink(cfg.listen.c_str()); });
  CRID_TRY(secure_socket(cfg.listen));
  undo.dismiss();
  spdlog::info("crid {} serving CRI v1 on {} (root {}, runroot {})", CRID_VERSION, cfg.listen,
               cfg.root, cfg.runroot);

  sigset_t set = handled_signals();
  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig == SIGHUP) {
      reload(sources, holder);
      continue;
    }
    spdlog::info("received {}, shutting down", strsignal(sig));
    break;
  }
  // Event streams never end on their own: close them first so they do not
  // hold up the shutdown. In-flight calls get a grace period; containers
  // are left running.
  backend.events->close();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(10));
  server->Wait();
  backend.stream_server->stop();
  ::unlink(cfg.listen.c_str());
  spdlog::info("crid stopped");
  return Ok();
}

}  // namespace crid
