#include "build/mock_target.hpp"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>

#include "core/records.hpp"
#include "core/template.hpp"

namespace imagefactory {

namespace {

constexpr std::chrono::milliseconds kDefaultStep{50};
constexpr long kMaxStepMs = 60000;
constexpr int kBuildSteps[] = {5, 10, 15, 20, 50, 75, 95};

struct DocFree {
    void operator()(xmlDoc* doc) const { xmlFreeDoc(doc); }
};
using DocPtr = std::unique_ptr<xmlDoc, DocFree>;

DocPtr parseSafely(const std::string& xml) {
    int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;
    return DocPtr(
        xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "mock.xml", nullptr, options));
}

// The text of the first child element of node called name, or nullopt.
std::optional<std::string> childText(xmlNode* node, std::string_view name) {
    for (xmlNode* child = node ? node->children : nullptr; child; child = child->next) {
        if (child->type == XML_ELEMENT_NODE && name == reinterpret_cast<const char*>(child->name)) {
            xmlChar* text = xmlNodeGetContent(child);
            std::string value = text ? reinterpret_cast<const char*>(text) : "";
            xmlFree(text);
            return value;
        }
    }
    return std::nullopt;
}

std::string trim(const std::string& text) {
    size_t first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) {
        return {};
    }
    size_t last = text.find_last_not_of(" \t\r\n");
    return text.substr(first, last - first + 1);
}

std::chrono::milliseconds stepDuration(const std::string& xml) {
    DocPtr doc = parseSafely(xml);
    auto value = childText(doc ? xmlDocGetRootElement(doc.get()) : nullptr, "mock_step_ms");
    if (!value) {
        return kDefaultStep;
    }
    try {
        long ms = std::stol(*value);
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
    if (trim(request.template_xml) == "<template>FAIL</template>") {
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

bool MockProviderDriver::resolve(const std::string& provider_argument,
                                 ProviderDefinition& definition) const {
    if (provider_argument.rfind("mock", 0) != 0) {
        return false;
    }
    // The name becomes part of a file name and a target identifier: keep it plain.
    for (char c : provider_argument) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
            return false;
        }
    }
    definition.name = provider_argument;
    definition.target = "mock";
    definition.settings = "{}";
    return true;
}

Status MockProviderDriver::checkCredentials(const std::string& credentials_xml) const {
    // Messages here never quote the document: it may hold secrets.
    constexpr const char* kExpected =
        "expected <provider_credentials><mock_credentials><username>NAME</username>"
        "</mock_credentials></provider_credentials>";
    if (credentials_xml.size() > kMaxTemplateBytes) {
        return userError("credentials document is too large; " + std::string(kExpected));
    }
    DocPtr doc = parseSafely(credentials_xml);
    if (!doc) {
        return userError("credentials are not well-formed XML; " + std::string(kExpected));
    }
    if (doc->intSubset || doc->extSubset) {
        return userError("credentials must not contain a DOCTYPE");
    }
    xmlNode* root = xmlDocGetRootElement(doc.get());
    if (!root ||
        std::string_view(reinterpret_cast<const char*>(root->name)) != "provider_credentials") {
        return userError("credentials root element is not provider_credentials; " +
                         std::string(kExpected));
    }
    xmlNode* mock = nullptr;
    for (xmlNode* child = root->children; child; child = child->next) {
        if (child->type == XML_ELEMENT_NODE &&
            std::string_view(reinterpret_cast<const char*>(child->name)) == "mock_credentials") {
            mock = child;
        }
    }
    auto username = childText(mock, "username");
    if (!mock || !username || trim(*username).empty()) {
        return userError("credentials have no mock_credentials/username; " +
                         std::string(kExpected));
    }
    return okStatus();
}

Result<PushOutput> MockProviderDriver::push(const PushRequest& request, JobContext& context) {
    DocPtr doc = parseSafely(request.credentials_xml);
    xmlNode* root = doc ? xmlDocGetRootElement(doc.get()) : nullptr;
    xmlNode* mock = nullptr;
    for (xmlNode* child = root ? root->children : nullptr; child; child = child->next) {
        if (child->type == XML_ELEMENT_NODE &&
            std::string_view(reinterpret_cast<const char*>(child->name)) == "mock_credentials") {
            mock = child;
        }
    }
    auto username = childText(mock, "username");
    if (!username) {
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
    output.provider_account_identifier = trim(*username);
    return output;
}

Status MockProviderDriver::checkImport(const ImportRequest& request) const {
    if (request.target_identifier.empty()) {
        return userError("target_identifier is empty");
    }
    return okStatus();
}

}  // namespace imagefactory
