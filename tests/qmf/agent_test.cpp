#include <spdlog/sinks/ringbuffer_sink.h>

#include <atomic>

#include "agent_test_support.hpp"
#include "core/logging.hpp"
#include "qmf/codec010.hpp"
#include "qmf/console_protocol.hpp"
#include "qmf/qmf1.hpp"
#include "qmf/schema.hpp"
#include "support/test_http_server.hpp"

namespace imagefactory::qmf::testing {
namespace {

const std::string kFastTemplate =
    "<template><name>fast</name><mock_step_ms>0</mock_step_ms></template>";
const std::string kSlowTemplate =
    "<template><name>slow</name><mock_step_ms>5000</mock_step_ms></template>";

class AgentTest : public ::testing::Test {
  protected:
    // Calls build_image and returns the adaptor addresses, or fails the test.
    List buildImage(const std::string& template_xml, List targets) {
        auto out = harness_.send(methodCall("build_image", factoryAddress(),
                                            Map{{"image", ""},
                                                {"build", ""},
                                                {"template", template_xml},
                                                {"targets", std::move(targets)}}));
        EXPECT_EQ(out.size(), 1u);
        if (out.size() != 1 || prop(out[0], "qmf.opcode") != "_method_response") {
            ADD_FAILURE() << "build_image failed: " << toJson(out.at(0)).dump();
            return {};
        }
        return *mapAt(bodyMap(out[0]), "_arguments").at("build_adaptors").list();
    }

    // The next method reply or exception queued by a call that ran on a worker thread.
    std::optional<Message> awaitDeferredReply() {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (std::chrono::steady_clock::now() < deadline) {
            for (Message& message : harness_.agent().takeEvents(100)) {
                std::string opcode = prop(message, "qmf.opcode");
                if (opcode == "_method_response" || opcode == "_exception") {
                    return std::move(message);
                }
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        return std::nullopt;
    }

    static std::string jobIdOf(const Value& address) {
        std::string name = *textField(*address.map(), "_object_name");
        return name.substr(name.rfind(':') + 1);
    }

    AgentHarness harness_;
};

// A template URL is downloaded off the AMQP thread: handle() returns at once, other requests
// get their replies meanwhile, and the reply comes through takeEvents() with the request's
// correlation id.
TEST_F(AgentTest, UrlTemplateIsFetchedWithoutHoldingTheAgent) {
    std::atomic<bool> release{false};
    TestHttpServer server([&release](const std::string&) {
        while (!release) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        return httpResponse(200, kFastTemplate);
    });
    auto out = harness_.send(methodCall("build_image", factoryAddress(),
                                        Map{{"image", ""},
                                            {"build", ""},
                                            {"template", server.url("/slow.tdl")},
                                            {"targets", List{Value("mock")}}},
                                        "url-call"));
    EXPECT_TRUE(out.empty()) << "the reply must wait for the download";

    // While the server delays the download, the agent still replies.
    auto located = harness_.send(request(kAgentLocateRequest, List{}, "locate-meanwhile"));
    ASSERT_EQ(located.size(), 1u);
    EXPECT_EQ(prop(located[0], "qmf.opcode"), "_agent_locate_response");
    release = true;

    std::optional<Message> reply = awaitDeferredReply();
    ASSERT_TRUE(reply.has_value()) << "no deferred reply within 30 s";
    ASSERT_TRUE(reply->correlation_id.has_value());
    EXPECT_EQ(reply->correlation_id->text().value_or(""), "url-call");
    const List& adaptors = *mapAt(bodyMap(*reply), "_arguments").at("build_adaptors").list();
    ASSERT_EQ(adaptors.size(), 1u);
    EXPECT_TRUE(harness_.waitUntilEnded(jobIdOf(adaptors[0])));
}

TEST_F(AgentTest, NameFromInstance) {
    EXPECT_EQ(harness_.agent().name(), kAgentName);
    EXPECT_EQ(harness_.agent().epoch(), 1u);
}

TEST_F(AgentTest, HeartbeatFields) {
    Message beat = harness_.agent().heartbeat();
    expectAgentProperties(beat, "_agent_heartbeat_indication", "indication");
    EXPECT_EQ(beat.node, "qmf.default.topic");
    EXPECT_EQ(beat.subject, "agent.ind.heartbeat.redhat_com.imagefactory");
    EXPECT_EQ(beat.ttl_ms, 20000u);
    EXPECT_FALSE(beat.correlation_id.has_value());
    EXPECT_EQ(beat.content_type, "amqp/map");
    const Map& values = mapAt(bodyMap(beat), "_values");
    EXPECT_EQ(values.at("_epoch"), Value(uint32_t{1}));
    EXPECT_EQ(values.at("qmf.agent_capability"), Value(uint32_t{1}));
    EXPECT_EQ(values.at("_heartbeat_interval"), Value(uint32_t{10}));
    EXPECT_EQ(values.at("_timestamp").type(), Value::Type::UInt64);
    EXPECT_EQ(values.at("_schema_updated").type(), Value::Type::UInt64);
    EXPECT_FALSE(values.contains("_direct_subject"));
}

TEST_F(AgentTest, HeartbeatParsesAsAgentInfo) {
    auto info = console::parseAgentInfo(harness_.agent().heartbeat());
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->name, kAgentName);
    EXPECT_EQ(info->capability, 1u);
}

TEST_F(AgentTest, LocateFilters) {
    struct Case {
        std::string name;
        Value predicate;
        size_t replies;
    };
    std::vector<Case> cases = {
        {"empty list", List{}, 1},
        {"null body", Value(), 1},
        {"vendor and product", console::vendorProductPredicate("redhat.com", "imagefactory"), 1},
        {"other vendor", console::vendorProductPredicate("apache.org", ""), 0},
        {"malformed", List{Value("bogus")}, 0},
    };
    for (const auto& c : cases) {
        auto out = harness_.send(request(kAgentLocateRequest, c.predicate, "agent-locate"));
        EXPECT_EQ(out.size(), c.replies) << c.name;
    }
}

TEST_F(AgentTest, LocateWithMapBodyIsIgnored) {
    EXPECT_TRUE(harness_.send(request(kAgentLocateRequest, Map{})).empty());
}

TEST_F(AgentTest, RequestWithoutReplyToIsIgnored) {
    Message in = request(kQueryRequest, Map{{"_what", "SCHEMA_ID"}});
    in.reply_to.clear();
    EXPECT_TRUE(harness_.send(in).empty());
}

TEST_F(AgentTest, UnknownOpcodeIsIgnored) {
    EXPECT_TRUE(harness_.send(request("_bogus_request", Map{})).empty());
}

TEST_F(AgentTest, QueryWithListBodyIsIgnored) {
    EXPECT_TRUE(harness_.send(request(kQueryRequest, List{})).empty());
}

TEST_F(AgentTest, SchemaIdQueryListsEveryClass) {
    auto out = harness_.send(request(kQueryRequest, Map{{"_what", Binary{"SCHEMA_ID"}}}));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].properties.at("qmf.content"), Value("_schema_id"));
    const List& ids = bodyList(out[0]);
    ASSERT_EQ(ids.size(), schema::classes().size());
    for (size_t i = 0; i < ids.size(); ++i) {
        EXPECT_EQ(ids[i], Value(schema::classes()[i].id().toMap()));
    }
}

TEST_F(AgentTest, SchemaQueryWithoutIdIsException) {
    auto out = harness_.send(request(kQueryRequest, Map{{"_what", "SCHEMA"}}));
    ASSERT_EQ(out.size(), 1u);
    const Map& values = exceptionValues(out[0]);
    EXPECT_EQ(values.at("error_text"),
              Value("Invalid Schema Query: Requests for SCHEMA must supply a valid schema ID."));
}

TEST_F(AgentTest, EventSchemaHasSeverity) {
    auto out = harness_.send(request(
        kQueryRequest,
        Map{{"_what", "SCHEMA"}, {"_schema_id", Map{{"_class_name", "BuildFailedEvent"}}}}));
    ASSERT_EQ(out.size(), 1u);
    const List& items = bodyList(out[0]);
    ASSERT_EQ(items.size(), 1u);
    EXPECT_EQ(items[0].map()->at("_default_severity"), Value(uint32_t{3}));
}

TEST_F(AgentTest, UnknownWhatNamesValue) {
    auto out = harness_.send(request(kQueryRequest, Map{{"_what", Binary{"EVERYTHING"}}}));
    ASSERT_EQ(out.size(), 1u);
    const Map& values = exceptionValues(out[0]);
    EXPECT_EQ(values.at("error_code"), Value(uint32_t{4}));
    EXPECT_NE(textField(values, "error_text")->find("'EVERYTHING'"), std::string::npos);
}

TEST_F(AgentTest, MissingWhatIsException) {
    auto out = harness_.send(request(kQueryRequest, Map{}));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(prop(out[0], "qmf.opcode"), "_exception");
}

TEST_F(AgentTest, QueryByClassPackageRules) {
    struct Case {
        std::string name;
        Map schema_id;
        size_t objects;
    };
    std::vector<Case> cases = {
        {"empty package", {{"_class_name", "ImageFactory"}, {"_package_name", ""}}, 1},
        {"no package", {{"_class_name", Binary{"ImageFactory"}}}, 1},
        {"other package", {{"_class_name", "ImageFactory"}, {"_package_name", "org.x"}}, 0},
        {"unknown class", {{"_class_name", "Nothing"}}, 0},
    };
    for (const auto& c : cases) {
        auto out = harness_.send(
            request(kQueryRequest, Map{{"_what", "OBJECT"}, {"_schema_id", c.schema_id}}));
        ASSERT_EQ(out.size(), 1u) << c.name;
        EXPECT_EQ(bodyList(out[0]).size(), c.objects) << c.name;
    }
}

TEST_F(AgentTest, ObjectIdQueryAnswersLikeObject) {
    auto out = harness_.send(
        request(kQueryRequest, Map{{"_what", "OBJECT_ID"}, {"_object_id", factoryAddress()}}));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].properties.at("qmf.content"), Value("_data"));
    EXPECT_EQ(bodyList(out[0]).size(), 1u);
}

TEST_F(AgentTest, QueryByAddressChecksAgentAndEpoch) {
    struct Case {
        std::string name;
        Map address;
        size_t objects;
    };
    std::vector<Case> cases = {
        {"exact", factoryAddress(), 1},
        {"no epoch", {{"_agent_name", kAgentName}, {"_object_name", "image_factory"}}, 1},
        {"stale epoch",
         {{"_agent_name", kAgentName},
          {"_object_name", "image_factory"},
          {"_agent_epoch", uint32_t{7}}},
         0},
        {"other agent",
         {{"_agent_name", "redhat.com:imagefactory:other"}, {"_object_name", "image_factory"}},
         0},
        {"unknown object", {{"_agent_name", kAgentName}, {"_object_name", "nothing"}}, 0},
    };
    for (const auto& c : cases) {
        auto out = harness_.send(
            request(kQueryRequest, Map{{"_what", "OBJECT"}, {"_object_id", c.address}}));
        ASSERT_EQ(out.size(), 1u) << c.name;
        EXPECT_EQ(bodyList(out[0]).size(), c.objects) << c.name;
    }
}

TEST_F(AgentTest, QueryWithoutSelectorIsEmpty) {
    auto out = harness_.send(request(kQueryRequest, Map{{"_what", "OBJECT"}}));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(bodyList(out[0]).empty());
    EXPECT_FALSE(out[0].properties.contains("partial"));
}

TEST_F(AgentTest, BuildEventsInOrder) {
    List adaptors = buildImage(kFastTemplate, List{Value("mock")});
    ASSERT_EQ(adaptors.size(), 1u);
    ASSERT_TRUE(harness_.waitUntilEnded(jobIdOf(adaptors[0])));

    auto events = harness_.agent().takeEvents(1000);
    ASSERT_FALSE(events.empty());
    std::vector<std::string> statuses;
    int last_percent = -1;
    for (const Message& message : events) {
        expectAgentProperties(message, "_data_indication", "indication");
        EXPECT_EQ(message.node, "qmf.default.topic");
        EXPECT_EQ(message.properties.at("qmf.content"), Value("_event"));
        EXPECT_EQ(message.content_type, "amqp/list");
        EXPECT_FALSE(message.correlation_id.has_value());
        const List& items = bodyList(message);
        ASSERT_EQ(items.size(), 1u);
        const Map& event = *items[0].map();
        EXPECT_EQ(event.at("_severity"), Value(int32_t{5}));
        EXPECT_EQ(event.at("_timestamp").type(), Value::Type::UInt64);
        const Map& values = mapAt(event, "_values");
        EXPECT_EQ(values.at("addr"), adaptors[0]);
        std::string kind = *textField(values, "event");
        if (kind == "STATUS") {
            EXPECT_EQ(message.subject,
                      "agent.ind.event.com_redhat_imagefactory.BuildAdaptorStatusEvent.note."
                      "redhat_com.imagefactory");
            if (statuses.empty()) {
                EXPECT_EQ(values.at("old_status"), Value("NEW"));
            } else {
                EXPECT_EQ(values.at("old_status"), Value(statuses.back()));
            }
            statuses.push_back(*textField(values, "new_status"));
        } else {
            ASSERT_EQ(kind, "PERCENTAGE");
            EXPECT_EQ(message.subject,
                      "agent.ind.event.com_redhat_imagefactory.BuildAdaptorPercentCompleteEvent."
                      "note.redhat_com.imagefactory");
            int percent = static_cast<int>(*values.at("percent_complete").integer());
            EXPECT_GT(percent, last_percent);
            last_percent = percent;
        }
    }
    ASSERT_FALSE(statuses.empty());
    EXPECT_EQ(statuses.back(), "COMPLETED");
    EXPECT_EQ(last_percent, 100);
    EXPECT_TRUE(harness_.agent().takeEvents(10).empty());
}

TEST_F(AgentTest, FailedBuildRaisesFailureEvent) {
    List adaptors = buildImage("<template>FAIL</template>", List{Value("mock")});
    ASSERT_EQ(adaptors.size(), 1u);
    ASSERT_TRUE(harness_.waitUntilEnded(jobIdOf(adaptors[0])));
    auto events = harness_.agent().takeEvents(1000);
    auto failure = std::find_if(events.begin(), events.end(), [](const Message& m) {
        return m.subject.find("BuildFailedEvent.error.") != std::string::npos;
    });
    ASSERT_NE(failure, events.end());
    const Map& event = *bodyList(*failure)[0].map();
    EXPECT_EQ(event.at("_severity"), Value(int32_t{3}));
    const Map& values = mapAt(event, "_values");
    EXPECT_EQ(values.at("event"), Value("FAILURE"));
    EXPECT_EQ(values.at("type"), Value("Mock"));
    EXPECT_EQ(values.at("addr"), adaptors[0]);
    const Map& last = mapAt(*bodyList(events.back())[0].map(), "_values");
    EXPECT_EQ(last.at("new_status"), Value("FAILED"));
}

TEST_F(AgentTest, WakeupCalledPerEvent) {
    std::atomic<int> wakeups{0};
    harness_.agent().setEventWakeup([&wakeups] { ++wakeups; });
    List adaptors = buildImage(kFastTemplate, List{Value("mock")});
    ASSERT_EQ(adaptors.size(), 1u);
    ASSERT_TRUE(harness_.waitUntilEnded(jobIdOf(adaptors[0])));
    // The wake-up runs just after the event is queued, so the last one may still be running.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (static_cast<size_t>(wakeups.load()) < harness_.agent().pendingEvents() &&
           std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_EQ(static_cast<size_t>(wakeups.load()), harness_.agent().pendingEvents());
}

TEST_F(AgentTest, AbortRunningBuild) {
    List adaptors = buildImage(kSlowTemplate, List{Value("mock")});
    ASSERT_EQ(adaptors.size(), 1u);
    auto out = harness_.send(methodCall("abort", *adaptors[0].map(), Map{}));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(prop(out[0], "qmf.opcode"), "_method_response");
    EXPECT_EQ(bodyMap(out[0]).at("_arguments"), Value(Map{}));

    auto final_view = harness_.factory().waitForJob(jobIdOf(adaptors[0]));
    ASSERT_TRUE(final_view.has_value());
    EXPECT_EQ(final_view->status, JobStatus::Failed);
}

TEST_F(AgentTest, AbortAfterCompletionIsException) {
    List adaptors = buildImage(kFastTemplate, List{Value("mock")});
    ASSERT_EQ(adaptors.size(), 1u);
    ASSERT_TRUE(harness_.waitUntilEnded(jobIdOf(adaptors[0])));
    auto out = harness_.send(methodCall("abort", *adaptors[0].map(), Map{}));
    ASSERT_EQ(out.size(), 1u);
    const Map& values = exceptionValues(out[0]);
    std::string text = *textField(values, "error_text");
    EXPECT_NE(text.find("already ended"), std::string::npos) << text;
    EXPECT_NE(text.find("COMPLETED"), std::string::npos) << text;
}

TEST_F(AgentTest, AdaptorMethodsAreItsOwn) {
    List adaptors = buildImage(kFastTemplate, List{Value("mock")});
    ASSERT_EQ(adaptors.size(), 1u);
    auto out = harness_.send(methodCall("build_image", *adaptors[0].map(), Map{}));
    ASSERT_EQ(out.size(), 1u);
    const Map& values = exceptionValues(out[0]);
    EXPECT_EQ(values.at("error_code"), Value(uint32_t{2}));
    EXPECT_NE(textField(values, "error_text")->find("BuildAdaptor"), std::string::npos);
}

TEST_F(AgentTest, UnknownObjectIsCodeOne) {
    Map address = factoryAddress();
    address["_object_name"] = "build_adaptor:build_image:nothing";
    auto out = harness_.send(methodCall("abort", address, Map{}));
    ASSERT_EQ(out.size(), 1u);
    const Map& values = exceptionValues(out[0]);
    EXPECT_EQ(values.at("error_code"), Value(uint32_t{1}));
    EXPECT_NE(textField(values, "error_text")->find("build_adaptor:build_image:nothing"),
              std::string::npos);
}

TEST_F(AgentTest, MissingMethodNameIsException) {
    auto out = harness_.send(request(kMethodRequest, Map{{"_object_id", factoryAddress()}}));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(exceptionValues(out[0]).at("error_text"),
              Value("Malformed MethodRequest: missing _method_name field"));
}

TEST_F(AgentTest, RejectsBadArguments) {
    struct Case {
        std::string name;
        Map arguments;
        std::vector<std::string> text_parts;
    };
    const Map good{{"image", ""},
                   {"build", ""},
                   {"template", kFastTemplate},
                   {"targets", List{Value("mock")}}};
    auto with = [&good](const std::string& key, Value value) {
        Map changed = good;
        changed[key] = std::move(value);
        return changed;
    };
    auto without = [&good](const std::string& key) {
        Map changed = good;
        changed.erase(key);
        return changed;
    };
    std::vector<Case> cases = {
        {"targets not a list",
         with("targets", "mock"),
         {"build_image", "'targets'", "TYPE_LIST", "string"}},
        {"template not text",
         with("template", int64_t{5}),
         {"build_image", "'template'", "TYPE_STRING", "integer"}},
        {"template is a map", with("template", Map{}), {"'template'", "map"}},
        {"missing template", without("template"), {"build_image", "missing", "'template'"}},
        {"unknown argument", with("color", "blue"), {"build_image", "'color'"}},
        {"output argument", with("build_adaptors", List{}), {"'build_adaptors'"}},
        {"target item not text",
         with("targets", List{Value("mock"), Value(int64_t{3})}),
         {"'targets'", "item 1", "integer"}},
    };
    for (const auto& c : cases) {
        auto out = harness_.send(methodCall("build_image", factoryAddress(), c.arguments));
        ASSERT_EQ(out.size(), 1u) << c.name;
        const Map& values = exceptionValues(out[0]);
        EXPECT_EQ(values.at("error_code"), Value(uint32_t{4})) << c.name;
        std::string text = *textField(values, "error_text");
        for (const std::string& part : c.text_parts) {
            EXPECT_NE(text.find(part), std::string::npos) << c.name << ": " << text;
        }
    }
    EXPECT_TRUE(harness_.factory().jobs().empty());
}

TEST_F(AgentTest, AcceptsBinaryArguments) {
    auto out = harness_.send(methodCall("build_image", factoryAddress(),
                                        Map{{"image", Binary{""}},
                                            {"build", Binary{""}},
                                            {"template", Binary{kFastTemplate}},
                                            {"targets", List{Value(Binary{"mock"})}}}));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(prop(out[0], "qmf.opcode"), "_method_response");
}

TEST_F(AgentTest, CredentialsNeverEchoed) {
    auto ring = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1000);
    auto log = componentLogger("qmf");
    log->sinks().push_back(ring);
    auto old_level = log->level();
    log->set_level(spdlog::level::trace);

    const std::string secret = "<provider_credentials>s3cr3t-token</provider_credentials>";
    auto out = harness_.send(methodCall("push_image", factoryAddress(),
                                        Map{{"image", "no-such-image"},
                                            {"build", ""},
                                            {"providers", List{Value("mock1")}},
                                            {"credentials", secret}}));
    log->sinks().pop_back();
    log->set_level(old_level);

    ASSERT_EQ(out.size(), 1u);
    std::string text = *textField(exceptionValues(out[0]), "error_text");
    EXPECT_EQ(text.find("s3cr3t"), std::string::npos) << text;
    bool redacted_logged = false;
    for (const std::string& line : ring->last_formatted()) {
        EXPECT_EQ(line.find("s3cr3t"), std::string::npos) << line;
        redacted_logged = redacted_logged || line.find("*** REDACTED ***") != std::string::npos;
    }
    EXPECT_TRUE(redacted_logged);
}

TEST_F(AgentTest, InlineProviderDefinitionsNeverLogged) {
    auto ring = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1000);
    auto log = componentLogger("qmf");
    log->sinks().push_back(ring);
    auto old_level = log->level();
    log->set_level(spdlog::level::trace);

    const std::string definition =
        R"({"target": "rhevm", "nfs-dir": "/nonexistent", "password": "s3cr3t-pw"})";
    auto pushed =
        harness_.send(methodCall("push_image", factoryAddress(),
                                 Map{{"image", "no-such-image"},
                                     {"build", ""},
                                     {"providers", List{Value(definition), Value("mock1")}},
                                     {"credentials", ""}}));
    // No rhevm driver is registered here, so the push is rejected at once.
    EXPECT_EQ(pushed.size(), 1u);
    harness_.send(methodCall("import_image", factoryAddress(),
                             Map{{"image", ""},
                                 {"build", ""},
                                 {"target_identifier", "id\n2026-01-01 forged line"},
                                 {"image_desc", "<image><name>x</name></image>"},
                                 {"target", "rhevm"},
                                 {"provider", definition}}));
    log->sinks().pop_back();
    log->set_level(old_level);

    bool push_logged = false;
    for (const std::string& line : ring->last_formatted()) {
        EXPECT_EQ(line.find("s3cr3t"), std::string::npos) << line;
        EXPECT_EQ(line.find("\n2026"), std::string::npos) << line;
        push_logged =
            push_logged || line.find("providers=(inline definition of") != std::string::npos;
    }
    EXPECT_TRUE(push_logged);
}

TEST_F(AgentTest, PushImageCreatesPushAdaptor) {
    List built = buildImage(kFastTemplate, List{Value("mock")});
    ASSERT_EQ(built.size(), 1u);
    ASSERT_TRUE(harness_.waitUntilEnded(jobIdOf(built[0])));
    auto build_view = harness_.factory().job(jobIdOf(built[0]));
    ASSERT_TRUE(build_view.has_value());

    auto out = harness_.send(
        methodCall("push_image", factoryAddress(),
                   Map{{"image", build_view->image_id},
                       {"build", build_view->build_id},
                       {"providers", List{Value("mock1")}},
                       {"credentials",
                        "<provider_credentials><mock_credentials><username>u</username>"
                        "</mock_credentials></provider_credentials>"}}));
    ASSERT_EQ(out.size(), 1u);
    ASSERT_EQ(prop(out[0], "qmf.opcode"), "_method_response") << toJson(out[0]).dump();
    const List& adaptors = *mapAt(bodyMap(out[0]), "_arguments").at("build_adaptors").list();
    ASSERT_EQ(adaptors.size(), 1u);
    std::string object_name = *textField(*adaptors[0].map(), "_object_name");
    EXPECT_EQ(object_name.rfind("build_adaptor:push_image:", 0), 0u) << object_name;
    EXPECT_TRUE(harness_.waitUntilEnded(jobIdOf(adaptors[0])));
}

// A provider whose checks reach a remote host, which is down.
class UnreachableDriver : public ProviderDriver {
  public:
    std::string target() const override { return "remote"; }
    std::string failureType() const override { return "Remote"; }
    Status checkPush(const ProviderDefinition&, const ProviderCredentials&) const override {
        return Error{ErrorCode::Unavailable, "remote host is down"};
    }
    Result<PushOutput> push(const PushRequest&, JobContext&) override {
        return toolFailure("remote host is down");
    }
    Result<std::string> checkImport(const ImportRequest&) const override {
        return Error{ErrorCode::Unavailable, "remote host is down"};
    }
};

// A push whose checks reach the provider runs off the AMQP thread. Its reply, here an error,
// comes through takeEvents() with the request's correlation id.
TEST_F(AgentTest, PushToRemoteProviderRepliesLater) {
    harness_.providers().add(std::make_shared<UnreachableDriver>());
    List built = buildImage(kFastTemplate, List{Value("mock")});
    ASSERT_EQ(built.size(), 1u);
    ASSERT_TRUE(harness_.waitUntilEnded(jobIdOf(built[0])));
    auto build_view = harness_.factory().job(jobIdOf(built[0]));
    ASSERT_TRUE(build_view.has_value());

    auto out = harness_.send(methodCall("push_image", factoryAddress(),
                                        Map{{"image", build_view->image_id},
                                            {"build", ""},
                                            {"providers", List{Value(R"({"target": "remote"})")}},
                                            {"credentials", ""}},
                                        "push-later"));
    EXPECT_TRUE(out.empty());

    std::optional<Message> reply = awaitDeferredReply();
    ASSERT_TRUE(reply.has_value()) << "no deferred reply within 30 s";
    ASSERT_TRUE(reply->correlation_id.has_value());
    EXPECT_EQ(reply->correlation_id->text().value_or(""), "push-later");
    EXPECT_EQ(prop(*reply, "qmf.opcode"), "_exception");
}

// Mock providers and providers that do not resolve are checked on the AMQP thread itself.
TEST_F(AgentTest, PushToMockOrUnknownProviderRepliesAtOnce) {
    for (const char* provider : {"mock1", "ec2-us-east-1", "nebula"}) {
        auto out = harness_.send(methodCall("push_image", factoryAddress(),
                                            Map{{"image", "no-such-image"},
                                                {"build", ""},
                                                {"providers", List{Value(provider)}},
                                                {"credentials", ""}}));
        EXPECT_EQ(out.size(), 1u) << provider;
    }
}

TEST_F(AgentTest, FactoryErrorCodes) {
    auto out = harness_.send(methodCall("push_image", factoryAddress(),
                                        Map{{"image", "no-such-image"},
                                            {"build", ""},
                                            {"providers", List{Value("mock1")}},
                                            {"credentials", ""}}));
    ASSERT_EQ(out.size(), 1u);
    const Map& values = exceptionValues(out[0]);
    EXPECT_EQ(values.at("error_code"), Value(uint32_t{1}));
    EXPECT_NE(textField(values, "error_text")->find("no-such-image"), std::string::npos);
}

TEST_F(AgentTest, InstanceStates) {
    auto out = harness_.send(
        methodCall("instance_states", factoryAddress(), Map{{"class_name", "BuildAdaptor"}}));
    ASSERT_EQ(out.size(), 1u);
    const Map& arguments = mapAt(bodyMap(out[0]), "_arguments");
    EXPECT_EQ(arguments.at("states"), Value(*harness_.factory().instanceStates("BuildAdaptor")));

    auto unknown = harness_.send(
        methodCall("instance_states", factoryAddress(), Map{{"class_name", "Nothing"}}));
    ASSERT_EQ(unknown.size(), 1u);
    EXPECT_EQ(exceptionValues(unknown[0]).at("error_code"), Value(uint32_t{1}));
}

TEST_F(AgentTest, ImportImageReturnsFourIds) {
    auto out = harness_.send(methodCall("import_image", factoryAddress(),
                                        Map{{"image", ""},
                                            {"build", ""},
                                            {"target_identifier", "ami-1234"},
                                            {"image_desc", "<image><name>Mock</name></image>"},
                                            {"target", "mock"},
                                            {"provider", "mock1"}}));
    ASSERT_EQ(out.size(), 1u);
    ASSERT_EQ(prop(out[0], "qmf.opcode"), "_method_response") << toJson(out[0]).dump();
    const Map& arguments = mapAt(bodyMap(out[0]), "_arguments");
    EXPECT_EQ(arguments.size(), 4u);
    for (const char* key : {"image", "build", "target_image", "provider_image"}) {
        EXPECT_FALSE(textField(arguments, key).value_or("").empty()) << key;
    }
}

TEST_F(AgentTest, QueryResultsInBatches) {
    List targets(250, Value("mock"));
    List adaptors = buildImage(kFastTemplate, targets);
    ASSERT_EQ(adaptors.size(), 250u);

    auto out = harness_.send(
        request(kQueryRequest,
                Map{{"_what", "OBJECT"}, {"_schema_id", Map{{"_class_name", "BuildAdaptor"}}}}));
    ASSERT_EQ(out.size(), 3u);
    std::vector<size_t> sizes;
    for (const Message& message : out) {
        sizes.push_back(bodyList(message).size());
        EXPECT_EQ(message.correlation_id, Value("7"));
    }
    EXPECT_EQ(sizes, (std::vector<size_t>{100, 100, 50}));
    EXPECT_EQ(out[0].properties.at("partial"), Value());
    EXPECT_EQ(out[1].properties.at("partial"), Value());
    EXPECT_FALSE(out[2].properties.contains("partial"));
    EXPECT_EQ(bodyList(out[0])[0].map()->at("_object_id"), adaptors[0]);
    EXPECT_EQ(bodyList(out[2])[49].map()->at("_object_id"), adaptors[249]);
}

TEST_F(AgentTest, QueryWhereFiltersAdaptors) {
    List adaptors = buildImage(kFastTemplate, List{Value("mock"), Value("mock")});
    ASSERT_EQ(adaptors.size(), 2u);
    for (const Value& address : adaptors) {
        ASSERT_TRUE(harness_.waitUntilEnded(jobIdOf(address)));
    }
    List completed{Binary{"eq"}, Binary{"status"}, List{Binary{"quote"}, Binary{"COMPLETED"}}};
    List pending{Value("eq"), Value("status"), List{Value("quote"), Value("PENDING")}};
    for (const auto& [where, expected] :
         std::vector<std::pair<List, size_t>>{{completed, 2}, {pending, 0}}) {
        auto out = harness_.send(
            request(kQueryRequest, Map{{"_what", "OBJECT"},
                                       {"_schema_id", Map{{"_class_name", "BuildAdaptor"}}},
                                       {"_where", where}}));
        ASSERT_EQ(out.size(), 1u);
        EXPECT_EQ(bodyList(out[0]).size(), expected);
    }
}

TEST_F(AgentTest, MalformedWhereIsException) {
    auto out = harness_.send(
        request(kQueryRequest, Map{{"_what", "OBJECT"},
                                   {"_schema_id", Map{{"_class_name", "ImageFactory"}}},
                                   {"_where", List{Value("like")}}}));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(exceptionValues(out[0]).at("error_code"), Value(uint32_t{4}));
}

TEST_F(AgentTest, SubscribeIsRefused) {
    auto out = harness_.send(request(kSubscribeRequest, Map{}));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(exceptionValues(out[0]).at("error_text"), Value("Subscriptions are not supported"));
}

TEST_F(AgentTest, EncodedRequestGetsEncodedReply) {
    Message in = request(kQueryRequest, Value());
    in.content_type = "amqp/map";
    in.data = *codec010::encodeMap(
        Map{{"_what", Binary{"OBJECT"}}, {"_schema_id", Map{{"_class_name", "ImageFactory"}}}});
    auto out = harness_.send(in);
    ASSERT_EQ(out.size(), 1u);
    ASSERT_TRUE(out[0].data.has_value());
    EXPECT_TRUE(out[0].body.isNull());
    EXPECT_EQ(out[0].content_type, "amqp/list");
    auto decoded = codec010::decodeList(*out[0].data);
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    ASSERT_EQ(decoded->size(), 1u);
    const Map& object_id = *(*decoded)[0].map()->at("_object_id").map();
    EXPECT_EQ(object_id.at("_object_name"), Value("image_factory"));
}

TEST_F(AgentTest, UndecodableEncodedRequestIsDropped) {
    Message in = request(kQueryRequest, Value());
    in.content_type = "amqp/map";
    in.data = std::string("\x00\x00\xff\xff", 4);
    EXPECT_TRUE(harness_.send(in).empty());
}

TEST_F(AgentTest, EventBufferDropsOldest) {
    AgentOptions options = AgentHarness::defaultOptions();
    options.event_buffer_limit = 3;
    AgentHarness small(options);
    auto out = small.send(methodCall("build_image", factoryAddress(),
                                     Map{{"image", ""},
                                         {"build", ""},
                                         {"template", kFastTemplate},
                                         {"targets", List{Value("mock")}}}));
    ASSERT_EQ(out.size(), 1u);
    const Value& address = mapAt(bodyMap(out[0]), "_arguments").at("build_adaptors").list()->at(0);
    ASSERT_TRUE(small.waitUntilEnded(jobIdOf(address)));
    EXPECT_EQ(small.agent().pendingEvents(), 3u);
    auto events = small.agent().takeEvents(100);
    ASSERT_EQ(events.size(), 3u);
    const Map& last = mapAt(*bodyList(events.back())[0].map(), "_values");
    EXPECT_EQ(last.at("new_status"), Value("COMPLETED"));
}

TEST_F(AgentTest, TakeEventsHonoursMax) {
    List adaptors = buildImage(kFastTemplate, List{Value("mock")});
    ASSERT_TRUE(harness_.waitUntilEnded(jobIdOf(adaptors.at(0))));
    size_t pending = harness_.agent().pendingEvents();
    ASSERT_GT(pending, 2u);
    EXPECT_EQ(harness_.agent().takeEvents(2).size(), 2u);
    EXPECT_EQ(harness_.agent().pendingEvents(), pending - 2);
}

Message qmf1Request(const std::string& package, const std::string& class_name, const Uuid& hash) {
    std::string bytes = "AM2S";
    bytes += std::string("\x00\x00\x00\x2a", 4);
    bytes.push_back(static_cast<char>(package.size()));
    bytes += package;
    bytes.push_back(static_cast<char>(class_name.size()));
    bytes += class_name;
    bytes.append(reinterpret_cast<const char*>(hash.bytes.data()), 16);
    Message message;
    message.reply_to = "amq.direct/reply-1";
    message.content_type = "x-application/qmf";
    message.data = bytes;
    return message;
}

TEST_F(AgentTest, Qmf1SchemaReply) {
    const schema::Class& adaptor = *schema::findClass("", "BuildAdaptor");
    auto out = harness_.send(qmf1Request(adaptor.package, adaptor.name, adaptor.hash));
    ASSERT_EQ(out.size(), 1u);
    const Message& reply = out[0];
    EXPECT_EQ(reply.reply_to, "amq.direct/reply-1");
    EXPECT_EQ(reply.content_type, "x-application/qmf");
    EXPECT_EQ(reply.properties.at("qmf.agent"), Value(kAgentName));
    EXPECT_FALSE(reply.properties.contains("qmf.opcode"));
    EXPECT_FALSE(reply.properties.contains("x-amqp-0-10.app-id"));
    ASSERT_TRUE(reply.data.has_value());

    const std::string& bytes = *reply.data;
    EXPECT_EQ(bytes.substr(0, 4), "AM2s");
    EXPECT_EQ(bytes.substr(4, 4), std::string("\x00\x00\x00\x2a", 4));
    EXPECT_EQ(bytes[8], 1);
    size_t offset = 9;
    EXPECT_EQ(bytes.substr(offset + 1, adaptor.package.size()), adaptor.package);
    offset += 1 + adaptor.package.size();
    EXPECT_EQ(bytes.substr(offset + 1, adaptor.name.size()), adaptor.name);
    offset += 1 + adaptor.name.size() + 16;
    EXPECT_EQ(bytes.substr(offset, 6), std::string("\x00\x05\x00\x00\x00\x01", 6));
    offset += 6;
    std::vector<Map> maps;
    while (offset < bytes.size()) {
        auto map = codec010::readMap(bytes, offset);
        ASSERT_TRUE(map.ok()) << map.error().message;
        maps.push_back(*map);
    }
    ASSERT_EQ(maps.size(), 6u);
    EXPECT_EQ(maps[0].at("name"), Value("image"));
    EXPECT_EQ(maps[0].at("type"), Value(uint64_t{7}));
    EXPECT_EQ(maps[0].at("access"), Value(int64_t{3}));
    EXPECT_EQ(maps[3].at("type"), Value(uint64_t{19}));
    EXPECT_EQ(maps[5].at("name"), Value("abort"));
    EXPECT_EQ(maps[5].at("argCount"), Value(int64_t{0}));
}

TEST_F(AgentTest, Qmf1EventSchemaReply) {
    const schema::Class& event = *schema::findClass("", "BuildAdaptorStatusEvent");
    auto out = harness_.send(qmf1Request(event.package, event.name, event.hash));
    ASSERT_EQ(out.size(), 1u);
    const std::string& bytes = *out[0].data;
    EXPECT_EQ(bytes[8], 2);
}

TEST_F(AgentTest, Qmf1UnknownClassOrHashIsSilent) {
    const schema::Class& adaptor = *schema::findClass("", "BuildAdaptor");
    EXPECT_TRUE(harness_.send(qmf1Request(adaptor.package, "Nothing", adaptor.hash)).empty());
    EXPECT_TRUE(harness_.send(qmf1Request(adaptor.package, adaptor.name, Uuid{})).empty());
    Message truncated = qmf1Request(adaptor.package, adaptor.name, adaptor.hash);
    truncated.data->resize(12);
    EXPECT_TRUE(harness_.send(truncated).empty());
}

}  // namespace
}  // namespace imagefactory::qmf::testing
