#pragma once

#include <filesystem>

#include "build/provider.hpp"
#include "build/target.hpp"

namespace imagefactory {

// The mock target of the original: accepts any well-formed template (even
// <template></template>), goes through the whole job life with several progress steps, and
// writes a small YAML file as the image. The template <template>FAIL</template> makes the
// build fail. An element <mock_step_ms>N</mock_step_ms> under <template> sets the pause per
// step (default 50 ms, at most 60000), so tests can watch or abort a running build.
class MockTarget : public Target {
  public:
    std::string name() const override { return "mock"; }
    std::string failureType() const override { return "Mock"; }
    Status checkTemplate(const std::string& template_xml) const override;
    Result<BuildOutput> build(const BuildRequest& request, JobContext& context) override;
};

// Pushes to providers of target mock (names starting with "mock"). A push needs credentials
// <provider_credentials><mock_credentials><username>NAME</username>..., writes the image into
// root/<provider>/<provider image id>.yml and records target identifier
// Mock_<provider>_<provider image id>.
class MockProviderDriver : public ProviderDriver {
  public:
    explicit MockProviderDriver(std::filesystem::path root) : root_(std::move(root)) {}

    std::string target() const override { return "mock"; }
    std::string failureType() const override { return "Mock"; }
    bool checksReachProvider() const override { return false; }
    Status checkPush(const ProviderDefinition& provider,
                     const ProviderCredentials& credentials) const override;
    Result<PushOutput> push(const PushRequest& request, JobContext& context) override;
    Result<std::string> checkImport(const ImportRequest& request) const override;

  private:
    std::filesystem::path root_;
};

// Waits for duration or until the token is cancelled. Returns false when cancelled.
bool sleepUnlessCancelled(CancelToken& token, std::chrono::milliseconds duration);

}  // namespace imagefactory
