#include "daemon/one_shot.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "core/logging.hpp"
#include "core/template.hpp"
#include "daemon/progress_printer.hpp"
#include "daemon/runtime.hpp"

namespace imagefactory {

namespace {

enum class Mode { Build, Push, Import };

int fail(const Error& error) {
    std::cerr << "imagefactory: " << error.message << "\n";
    return exitStatusFor(error.code);
}

Result<Mode> chooseMode(const Settings& s) {
    if (!s.target_image.empty()) {
        if (s.targets.size() != 1) {
            return userError("import needs exactly one --target, got " +
                             std::to_string(s.targets.size()));
        }
        if (s.providers.size() != 1) {
            return userError("import needs exactly one --provider, got " +
                             std::to_string(s.providers.size()));
        }
        if (s.image_desc.empty()) {
            return userError("import needs --image-desc, e.g. '<image><name>N</name></image>'");
        }
        return Mode::Import;
    }
    if (!s.image.empty() && !s.providers.empty()) {
        // Credentials may be left out: condorcloud takes none, and the other drivers name the
        // element they miss.
        return Mode::Push;
    }
    if ((!s.template_argument.empty() && !s.targets.empty()) ||
        (!s.image.empty() && s.providers.empty())) {
        return Mode::Build;
    }
    if (!s.template_argument.empty()) {
        return userError("build needs at least one --target, e.g. --target mock");
    }
    if (!s.targets.empty()) {
        return userError("build needs --template (XML, file, URL or UUID)");
    }
    return userError(
        "nothing to do: give --template and --target to build, --image and --provider (and "
        "--credentials) to push, --target-image to import, or --qmf to run the daemon "
        "(see --help)");
}

}  // namespace

Result<std::string> readCredentials(const std::string& argument) {
    std::string text = argument;
    std::error_code ec;
    if (argument.find('<') == std::string::npos) {
        if (!std::filesystem::is_regular_file(argument, ec)) {
            // Not quoted: the argument may be a secret typed in the wrong place.
            return userError(
                "credentials are not <provider_credentials> XML, and no regular file has that "
                "name");
        }
        if (std::filesystem::file_size(argument, ec) > kMaxTemplateBytes) {
            return userError("credentials file " + argument + " is larger than 1 MiB");
        }
        std::ifstream in(argument, std::ios::binary);
        std::ostringstream content;
        content << in.rdbuf();
        if (!in) {
            return userError("cannot read credentials file " + argument);
        }
        text = content.str();
    }
    std::string lower = text;
    for (char& c : lower) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (lower.find("<provider_credentials>") == std::string::npos ||
        lower.find("</provider_credentials>") == std::string::npos) {
        return userError(
            "unexpected content or formatting of credentials: expected a "
            "<provider_credentials> document or a file holding one");
    }
    return text;
}

namespace {

// Aborts every job when SIGINT or SIGTERM arrives, until stop() is called.
class SignalWatcher {
  public:
    explicit SignalWatcher(Factory& factory) {
        thread_ = std::thread([this, &factory] {
            sigset_t signals;
            sigemptyset(&signals);
            sigaddset(&signals, SIGINT);
            sigaddset(&signals, SIGTERM);
            timespec tick{0, 200 * 1000 * 1000};
            while (!stopping_) {
                int signal = sigtimedwait(&signals, nullptr, &tick);
                if (signal > 0) {
                    componentLogger("daemon")->warn("signal {} received, aborting jobs", signal);
                    std::cerr << "\nimagefactory: interrupted, aborting jobs\n";
                    factory.abortAll();
                    return;
                }
            }
        });
    }
    ~SignalWatcher() {
        stopping_ = true;
        thread_.join();
    }

  private:
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

int followJobs(Factory& factory, const std::vector<JobSnapshot>& jobs, ProgressPrinter& printer) {
    int status = 0;
    std::vector<JobSnapshot> finals;
    for (const auto& job : jobs) {
        auto final_view = factory.waitForJob(job.id);
        if (final_view) {
            finals.push_back(*final_view);
        }
    }
    printer.finish();
    for (const auto& job : finals) {
        const std::string& where = job.kind == JobKind::Build ? job.target : job.provider;
        if (job.status == JobStatus::Completed) {
            std::cout << where << ": COMPLETED " << job.id << "\n";
        } else {
            std::cout << where << ": FAILED " << job.id << " (" << job.failure_type
                      << "): " << job.failure_info << "\n";
            status = 1;
        }
    }
    return status;
}

}  // namespace

int runOneShot(const Settings& settings) {
    auto mode = chooseMode(settings);
    if (!mode.ok()) {
        return fail(mode.error());
    }
    std::string credentials;
    if (*mode == Mode::Push && !settings.credentials.empty()) {
        auto read = readCredentials(settings.credentials);
        if (!read.ok()) {
            return fail(read.error());
        }
        credentials = std::move(*read);
    }

    // Block the signals before any thread starts, so that only the watcher receives them.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    auto runtime = Runtime::open(settings);
    if (!runtime.ok()) {
        return fail(runtime.error());
    }
    Factory& factory = (*runtime)->factory();
    auto printer = std::make_shared<ProgressPrinter>(stderr, isatty(STDERR_FILENO) == 1);
    factory.addObserver(printer);
    SignalWatcher watcher(factory);

    if (*mode == Mode::Import) {
        auto imported = factory.importImage(settings.image, settings.build, settings.target_image,
                                            settings.image_desc, settings.targets.front(),
                                            settings.providers.front());
        if (!imported.ok()) {
            return fail(imported.error());
        }
        std::cout << "Imported target image ID " << settings.target_image << " as image "
                  << imported->image_id << "\n"
                  << "image " << imported->image_id << "\nbuild " << imported->build_id
                  << "\ntarget_image " << imported->target_image_id << "\nprovider_image "
                  << imported->provider_image_id << "\n";
        return 0;
    }

    Result<std::vector<JobSnapshot>> jobs =
        *mode == Mode::Build
            ? factory.buildImage(settings.image, settings.build, settings.template_argument,
                                 settings.targets)
            : factory.pushImage(settings.image, settings.build, settings.providers, credentials);
    if (!jobs.ok()) {
        return fail(jobs.error());
    }
    for (const auto& job : *jobs) {
        if (job.kind == JobKind::Build) {
            std::cout << "Building build " << job.build_id << " of image " << job.image_id
                      << " to target " << job.target << " as target image " << job.id << "\n";
        } else {
            std::cout << "Pushing build " << job.build_id << " of image " << job.image_id
                      << " to provider " << job.provider << " as provider image " << job.id << "\n";
        }
    }
    std::cout.flush();
    return followJobs(factory, *jobs, *printer);
}

}  // namespace imagefactory
