#include "build/mock_target.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>

#include "core/records.hpp"
#include "core/template.hpp"
#include "core/template_xml.hpp"
#include "core/text.hpp"

namespace imagefactory {

namespace {

constexpr std::chrono::milliseconds kDefaultStep{50};
constexpr long kMaxStepMs = 60000;
constexpr int kBuildSteps[] = {5, 10, 15, 20, 50, 75, 95};

std::chrono::milliseconds stepDuration(const std::string& xml) {
    auto doc = readTemplateDocument(xml);
    if (!doc.ok()) {
        return kDefaultStep;
    }
    const xmlNode* step = childElement(xmlDocGetRootElement(doc->get()), "mock_step_ms");
    if (step == nullptr) {
        return kDefaultStep;
    }
    try {
        long ms = std::stol(xmlText(step));
        if (ms >= 0 && ms <= kMaxStepMs) {
            return std::chrono::milliseconds(ms);
        }
    } catch (const std::exception&) {
    }
    return kDefaultStep;
}

std::string mockImageYaml(const BuildRequest& request) {
    return "---\n"
           ":description: Mock image built by Image Factory\n"
           ":name: Mock Image\n"
           ":owner_id: Mock Owner\n"
           ":architecture: mock_architecture\n"
           ":object_id: " +
           request.target_image_id + "\n:uuid: " + request.target_image_id +
           "\n:created_by: imagefactory\n:created_on: " + std::to_string(nowMs() / 1000) + "\n";
}

Status writeFile(const std::filesystem::path& path, const std::string& content) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
    out.close();
    if (!out) {
        return internalError("cannot write " + path.string());
    }
    return okStatus();
}

}  // namespace

bool sleepUnlessCancelled(CancelToken& token, std::chrono::milliseconds duration) {
    std::mutex mutex;
    std::condition_variable woken;
    auto callback = token.onCancel([&] {
        std::lock_guard lock(mutex);
        woken.notify_all();
    });
    {
        std::unique_lock lock(mutex);
        woken.wait_for(lock, duration, [&] { return token.cancelled(); });
    }
    token.removeCallback(callback);
    return !token.cancelled();
}

Status MockTarget::checkTemplate(const std::string& template_xml) const {
    return checkTemplateXml(template_xml);
}

Result<BuildOutput> MockTarget::build(const BuildRequest& request, JobContext& context) {
    auto step = stepDuration(request.template_xml);
    auto log = context.logger();
    log->info("mock build started, {} ms per step", step.count());

    // The original's test hook: this exact template fails the build.
    if (trimWhitespace(request.template_xml) == "<template>FAIL</template>") {
        if (!sleepUnlessCancelled(context.cancelToken(), step)) {
            return Error{ErrorCode::Aborted, "aborted"};
        }
        return toolFailure("Testing failure conditions via mock target builder...");
    }

    for (int percent : kBuildSteps) {
        if (!sleepUnlessCancelled(context.cancelToken(), step)) {
            return Error{ErrorCode::Aborted, "aborted"};
        }
        context.setPercent(percent);
    }

    BuildOutput output;
    output.file = context.workDir() / "mock-image.yml";
    output.file_name = "mock-image.yml";
    Status written = writeFile(output.file, mockImageYaml(request));
    if (!written.ok()) {
        return written.error();
    }
    log->info("mock image written to {}", output.file.string());
    return output;
}

Status MockProviderDriver::checkPush(const ProviderDefinition&,
                                     const ProviderCredentials& credentials) const {
    if (credentials.find("username") == nullptr) {
        return userError(
            "credentials have no mock_credentials/username; expected "
            "<provider_credentials><mock_credentials><username>NAME</username>"
            "</mock_credentials></provider_credentials>");
    }
    return okStatus();
}

Result<PushOutput> MockProviderDriver::push(const PushRequest& request, JobContext& context) {
    const Secret* username = request.credentials.find("username");
    if (username == nullptr) {
        return userError("credentials have no mock_credentials/username");
    }

    if (!sleepUnlessCancelled(context.cancelToken(), kDefaultStep)) {
        return Error{ErrorCode::Aborted, "aborted"};
    }

    std::error_code ec;
    std::filesystem::path folder = root_ / request.provider.name;
    std::filesystem::create_directories(folder, ec);
    std::filesystem::path staged = folder / ("." + request.provider_image_id + ".yml.part");
    std::filesystem::path final_path = folder / (request.provider_image_id + ".yml");
    std::filesystem::copy_file(request.target_image_file, staged,
                               std::filesystem::copy_options::overwrite_existing, ec);
    if (!ec) {
        std::filesystem::rename(staged, final_path, ec);
    }
    if (ec) {
        std::filesystem::remove(staged, ec);
        return toolFailure("cannot copy " + request.target_image_file.string() + " to " +
                           final_path.string() + ": " + ec.message());
    }
    context.logger()->info("pushed to mock provider {} as {}", request.provider.name,
                           final_path.string());

    PushOutput output;
    output.target_identifier = "Mock_" + request.provider.name + "_" + request.provider_image_id;
    output.provider_account_identifier = username->reveal();
    return output;
}

Result<std::string> MockProviderDriver::checkImport(const ImportRequest& request) const {
    if (request.target_identifier.empty()) {
        return userError("target_identifier is empty");
    }
    return request.target_identifier;
}

}  // namespace imagefactory
