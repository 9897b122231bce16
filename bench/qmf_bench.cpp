// QMF over RabbitMQ, measured end to end: method round trips (p50, p99), object queries per
// second with many BuildAdaptors, and the daemon's resident memory when idle and after the
// builds. Starts `imagefactory --qmf` on a fresh data directory and talks to it with the
// console's own session code.
//
// Usage: qmf_bench [--broker HOST:PORT] [--daemon PATH] [--calls N] [--adaptors N]
// The broker must be running (scripts/rabbitmq/start.sh); the default is 127.0.0.1:$RMQ_PORT.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "amqp/broker_address.hpp"
#include "daemon/console_session.hpp"
#include "qmf/schema.hpp"

namespace {

using namespace imagefactory;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

struct BenchOptions {
    std::string broker;
    std::string daemon;
    int calls = 2000;
    int adaptors = 10000;
};

double millisecondsSince(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

long residentKilobytes(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) == 0) {
            return std::atol(line.c_str() + 6);
        }
    }
    return -1;
}

double percentile(std::vector<double> samples, double fraction) {
    std::sort(samples.begin(), samples.end());
    size_t index = std::min(samples.size() - 1, static_cast<size_t>(fraction * samples.size()));
    return samples[index];
}

pid_t startDaemon(const BenchOptions& options, const fs::path& data_dir) {
    pid_t pid = fork();
    if (pid == 0) {
        std::string log = (data_dir.parent_path() / "daemon.log").string();
        FILE* out = std::freopen(log.c_str(), "w", stderr);
        (void)out;
        execl(options.daemon.c_str(), options.daemon.c_str(), "--qmf", "--foreground", "--qpidd",
              options.broker.c_str(), "--imgdir", data_dir.c_str(), "--max-concurrent-builds", "8",
              static_cast<char*>(nullptr));
        _exit(127);
    }
    return pid;
}

std::string instanceOf(const fs::path& data_dir) {
    for (int i = 0; i < 100; ++i) {
        std::ifstream in(data_dir / "agent.json");
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        auto at = text.find("\"instance\":\"");
        if (at != std::string::npos) {
            return text.substr(at + 12, 36);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return {};
}

int run(const BenchOptions& options) {
    auto broker = amqp::parseBrokerAddress(options.broker);
    if (!broker) {
        std::cerr << broker.error().message << "\n";
        return 2;
    }
    fs::path work = fs::temp_directory_path() / ("qmf-bench-" + std::to_string(getpid()));
    fs::create_directories(work);
    pid_t daemon = startDaemon(options, work / "data");
    std::string instance = instanceOf(work / "data");

    amqp::ConsoleConnection::Options connection;
    connection.broker = *broker;
    ConsoleSession session(connection, std::chrono::seconds(60));
    session.setAgentFilter(instance);
    int status = 1;
    do {
        if (!session.open().ok()) {
            std::cerr << "cannot connect to broker " << options.broker << "\n";
            break;
        }
        auto agent = session.findImageFactory();
        if (!agent) {
            std::cerr << agent.error().message << "\n";
            break;
        }
        std::this_thread::sleep_for(std::chrono::seconds(3));
        long idle_rss = residentKilobytes(daemon);

        auto factories = session.queryClass(agent->name, std::string(qmf::schema::kImageFactory));
        if (!factories || factories->empty()) {
            std::cerr << "no ImageFactory object\n";
            break;
        }
        const qmf::ObjectAddress factory = factories->front().address;

        std::vector<double> round_trips;
        for (int i = 0; i < options.calls; ++i) {
            auto start = Clock::now();
            auto reply = session.call(agent->name, factory, "instance_states",
                                      {{"class_name", qmf::Value("BuildAdaptor")}});
            if (!reply || reply->exception) {
                std::cerr << "instance_states failed\n";
                break;
            }
            round_trips.push_back(millisecondsSince(start));
        }

        auto build_start = Clock::now();
        std::vector<qmf::ObjectAddress> addresses;
        const int per_call = 100;
        for (int made = 0; made < options.adaptors; made += per_call) {
            qmf::List targets;
            for (int i = 0; i < std::min(per_call, options.adaptors - made); ++i) {
                targets.emplace_back("mock");
            }
            auto reply = session.call(
                agent->name, factory, "build_image",
                {{"image", qmf::Value("")},
                 {"build", qmf::Value("")},
                 {"template",
                  qmf::Value(
                      "<template><name>bench</name><mock_step_ms>0</mock_step_ms></template>")},
                 {"targets", qmf::Value(targets)}});
            if (!reply || reply->exception) {
                std::cerr << "build_image failed: "
                          << (reply ? reply->exception->error_text : reply.error().message) << "\n";
                break;
            }
            for (const auto& address : *reply->arguments.at("build_adaptors").list()) {
                addresses.push_back(qmf::ObjectAddress::fromMap(*address.map()).value());
            }
        }
        double build_calls_ms = millisecondsSince(build_start);

        std::mt19937 random(42);
        const int queries = 2000;
        std::vector<double> query_times;
        auto query_start = Clock::now();
        int found = 0;
        for (int i = 0; i < queries && !addresses.empty(); ++i) {
            const auto& address = addresses[random() % addresses.size()];
            auto start = Clock::now();
            found += session.queryObject(agent->name, address).ok() ? 1 : 0;
            query_times.push_back(millisecondsSince(start));
        }
        double query_ms = millisecondsSince(query_start);

        auto class_start = Clock::now();
        auto all = session.queryClass(agent->name, std::string(qmf::schema::kBuildAdaptor));
        double class_ms = millisecondsSince(class_start);
        long loaded_rss = residentKilobytes(daemon);
        if (!all) {
            std::cerr << "class query failed: " << all.error().message << "\n";
        }

        std::printf("broker                          %s\n", options.broker.c_str());
        std::printf("idle daemon RSS                 %.1f MiB\n", idle_rss / 1024.0);
        if (!round_trips.empty()) {
            double total = 0;
            for (double sample : round_trips) {
                total += sample;
            }
            std::printf("method round trip (n=%zu)      p50 %.2f ms  p99 %.2f ms  mean %.2f ms\n",
                        round_trips.size(), percentile(round_trips, 0.5),
                        percentile(round_trips, 0.99), total / round_trips.size());
        }
        std::printf("build_image calls for %zu adaptors  %.1f s\n", addresses.size(),
                    build_calls_ms / 1000);
        std::printf("object queries by address       %.0f per s (%d of %d found)\n",
                    queries * 1000.0 / query_ms, found, queries);
        if (!query_times.empty()) {
            std::printf("object query round trip         p50 %.2f ms  p99 %.2f ms\n",
                        percentile(query_times, 0.5), percentile(query_times, 0.99));
        }
        std::printf("class query, all BuildAdaptors  %zu objects in %.2f s\n",
                    all ? all->size() : 0, class_ms / 1000);
        std::printf("daemon RSS with the adaptors    %.1f MiB\n", loaded_rss / 1024.0);
        status = 0;
    } while (false);

    kill(daemon, SIGTERM);
    waitpid(daemon, nullptr, 0);
    std::error_code ignored;
    fs::remove_all(work, ignored);
    return status;
}

}  // namespace

int main(int argc, char** argv) {
    BenchOptions options;
    const char* port = std::getenv("RMQ_PORT");
    options.broker = std::string("127.0.0.1:") + (port ? port : "5672");
    fs::path self = fs::canonical("/proc/self/exe").parent_path();
    options.daemon = (self.parent_path() / "apps" / "imagefactory").string();
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string name = argv[i];
        if (name == "--broker") {
            options.broker = argv[i + 1];
        } else if (name == "--daemon") {
            options.daemon = argv[i + 1];
        } else if (name == "--calls") {
            options.calls = std::max(1, std::atoi(argv[i + 1]));
        } else if (name == "--adaptors") {
            options.adaptors = std::max(1, std::atoi(argv[i + 1]));
        } else {
            std::cerr << "unknown option " << name << "\n";
            return 2;
        }
    }
    return run(options);
}
