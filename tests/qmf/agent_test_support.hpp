#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "build/mock_target.hpp"
#include "factory/factory.hpp"
#include "qmf/agent.hpp"
#include "qmf/protocol.hpp"
#include "qmf/value_json.hpp"
#include "store/sqlite_image_store.hpp"
#include "value_printer.hpp"

namespace imagefactory::qmf::testing {

inline const std::string kInstance = "a6261236-55ce-4677-8da0-56b125747e40";
inline const std::string kAgentName = "redhat.com:imagefactory:" + kInstance;
inline const std::string kReplyTo =
    "qmf.default.topic/direct-console.e55c920e-8f4a-4381-a8ba-5d81170bc20a";

// Loads tests/qmf/fixtures/<name>.json and returns its request message.
inline Message loadFixture(const std::string& name) {
    std::filesystem::path path =
        std::filesystem::path(IF_SOURCE_DIR) / "tests" / "qmf" / "fixtures" / (name + ".json");
    std::ifstream file(path);
    EXPECT_TRUE(file.good()) << "cannot open fixture " << path;
    nlohmann::json json = nlohmann::json::parse(file, nullptr, false);
    EXPECT_FALSE(json.is_discarded()) << "invalid JSON in " << path;
    auto message = messageFromJson(json["request"]);
    EXPECT_TRUE(message.ok()) << path << ": " << (message.ok() ? "" : message.error().message);
    return message.ok() ? *message : Message{};
}

// A real Factory over a SQLite store in a temporary directory, with the mock target and mock
// providers, observed by an Agent.
class AgentHarness {
  public:
    explicit AgentHarness(AgentOptions options = defaultOptions()) {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "if-qmf-test-XXXXXX").string();
        char* made = ::mkdtemp(pattern.data());
        dir_ = made != nullptr ? std::filesystem::path(made) : std::filesystem::path();
        auto store = openSqliteImageStore(dir_);
        EXPECT_TRUE(store.ok()) << (store.ok() ? "" : store.error().message);
        store_ = std::move(*store);
        targets_.add(std::make_shared<MockTarget>());
        providers_.add(std::make_shared<MockProviderDriver>(dir_ / "mock_providers"));
        factory_ = std::make_unique<Factory>(*store_, targets_, providers_, FactoryOptions{});
        agent_ = std::make_shared<Agent>(*factory_, std::move(options));
        factory_->addObserver(agent_);
    }

    ~AgentHarness() {
        factory_->abortAll();
        factory_.reset();
        store_.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }

    static AgentOptions defaultOptions() {
        AgentOptions options;
        options.instance = kInstance;
        options.epoch = 1;
        options.heartbeat_interval_seconds = 10;
        return options;
    }

    std::vector<Message> send(const Message& request) {
        std::vector<Message> out;
        agent_->handle(request, out);
        return out;
    }

    // Waits until the job has ended and the agent shows its final status. waitForJob() alone
    // can return before observers have heard of the final status, when a waiter woken by
    // another job finds this job's status already changed.
    bool waitUntilEnded(const std::string& job_id) {
        if (!factory_->waitForJob(job_id)) {
            return false;
        }
        Message query;
        query.reply_to = kReplyTo;
        query.properties = {{"qmf.opcode", "_query_request"}};
        query.body =
            Map{{"_what", "OBJECT"}, {"_object_id", Map{{"_object_name", jobObjectName(job_id)}}}};
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (std::chrono::steady_clock::now() < deadline) {
            auto out = send(query);
            const List* items = out.empty() ? nullptr : out[0].body.list();
            if (items != nullptr && items->size() == 1) {
                const Map& values = *items->at(0).map()->at("_values").map();
                auto status = textField(values, "status").value_or("");
                if (status == "COMPLETED" || status == "FAILED") {
                    return true;
                }
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        return false;
    }

    Agent& agent() { return *agent_; }
    ProviderRegistry& providers() { return providers_; }
    Factory& factory() { return *factory_; }

  private:
    std::string jobObjectName(const std::string& job_id) const {
        auto job = factory_->job(job_id);
        return "build_adaptor:" + (job ? job->method : std::string("?")) + ":" + job_id;
    }

    std::filesystem::path dir_;
    std::unique_ptr<ImageStore> store_;
    TargetRegistry targets_;
    ProviderRegistry providers_;
    std::unique_ptr<Factory> factory_;
    std::shared_ptr<Agent> agent_;
};

// A request as the C++ console sends it: binary opcode, reply-to and correlation id set.
inline Message request(std::string_view opcode, Value body, const std::string& cid = "7") {
    Message message;
    message.reply_to = kReplyTo;
    message.correlation_id = Value(cid);
    message.properties = {{"qmf.opcode", Binary{std::string(opcode)}},
                          {"x-amqp-0-10.app-id", Binary{"qmf2"}}};
    message.body = std::move(body);
    return message;
}

inline Map factoryAddress() {
    return Map{{"_agent_name", kAgentName},
               {"_object_name", "image_factory"},
               {"_agent_epoch", uint32_t{1}}};
}

inline Message methodCall(const std::string& method, const Map& object_id, Map arguments,
                          const std::string& cid = "7") {
    return request(kMethodRequest,
                   Map{{"_method_name", Binary{method}},
                       {"_object_id", object_id},
                       {"_arguments", std::move(arguments)}},
                   cid);
}

inline std::string prop(const Message& message, const std::string& key) {
    return textField(message.properties, key).value_or("<missing>");
}

inline const Map& bodyMap(const Message& message) {
    static const Map kEmpty;
    const Map* map = message.body.map();
    EXPECT_NE(map, nullptr) << "body is not a map";
    return map != nullptr ? *map : kEmpty;
}

inline const List& bodyList(const Message& message) {
    static const List kEmpty;
    const List* list = message.body.list();
    EXPECT_NE(list, nullptr) << "body is not a list";
    return list != nullptr ? *list : kEmpty;
}

inline const Map& mapAt(const Map& map, const std::string& key) {
    static const Map kEmpty;
    auto it = map.find(key);
    const Map* inner = it != map.end() ? it->second.map() : nullptr;
    EXPECT_NE(inner, nullptr) << key << " is missing or not a map";
    return inner != nullptr ? *inner : kEmpty;
}

// The _values of an _exception reply.
inline const Map& exceptionValues(const Message& message) {
    EXPECT_EQ(prop(message, "qmf.opcode"), "_exception");
    return mapAt(bodyMap(message), "_values");
}

// Expects the properties every agent-to-console message carries.
inline void expectAgentProperties(const Message& message, const std::string& opcode,
                                  const std::string& method) {
    EXPECT_EQ(message.properties.at("x-amqp-0-10.app-id"), Value("qmf2"));
    EXPECT_EQ(message.properties.at("qmf.opcode"), Value(opcode));
    EXPECT_EQ(message.properties.at("method"), Value(method));
    EXPECT_EQ(message.properties.at("qmf.agent"), Value(kAgentName));
}

// Expects the fields of a reply to request: reply-to and correlation id copied.
inline void expectReplyTo(const Message& reply, const Message& request) {
    EXPECT_EQ(reply.reply_to, request.reply_to);
    EXPECT_EQ(reply.correlation_id, request.correlation_id);
}

}  // namespace imagefactory::qmf::testing
