// Requests captured from the real qmf2 console, fed to the agent; replies checked field by
// field against what that console needs.

#include "agent_test_support.hpp"
#include "qmf/schema.hpp"

namespace imagefactory::qmf::testing {
namespace {

class AgentFixtureTest : public ::testing::Test {
  protected:
    AgentHarness harness_;
};

TEST_F(AgentFixtureTest, LocateRepliesWithAttributes) {
    Message in = loadFixture("locate_request");
    auto out = harness_.send(in);
    ASSERT_EQ(out.size(), 1u);
    const Message& reply = out[0];
    expectAgentProperties(reply, "_agent_locate_response", "indication");
    expectReplyTo(reply, in);
    EXPECT_EQ(reply.correlation_id, Value("agent-locate"));
    EXPECT_EQ(reply.content_type, "amqp/map");
    EXPECT_TRUE(reply.node.empty());
    EXPECT_FALSE(reply.data.has_value());

    const Map& values = mapAt(bodyMap(reply), "_values");
    EXPECT_EQ(values.at("_vendor"), Value("redhat.com"));
    EXPECT_EQ(values.at("_product"), Value("imagefactory"));
    EXPECT_EQ(values.at("_instance"), Value(kInstance));
    EXPECT_EQ(values.at("_name"), Value(kAgentName));
    EXPECT_EQ(values.at("_epoch"), Value(uint32_t{1}));
    EXPECT_EQ(values.at("_heartbeat_interval"), Value(uint32_t{10}));
    EXPECT_EQ(values.at("qmf.agent_capability"), Value(uint32_t{1}));
    EXPECT_EQ(values.at("_timestamp").type(), Value::Type::UInt64);
    EXPECT_EQ(values.at("_schema_updated").type(), Value::Type::UInt64);
    EXPECT_FALSE(values.contains("_direct_subject"));
}

TEST_F(AgentFixtureTest, QueryByClassReturnsImageFactory) {
    Message in = loadFixture("query_by_class");
    auto out = harness_.send(in);
    ASSERT_EQ(out.size(), 1u);
    const Message& reply = out[0];
    expectAgentProperties(reply, "_query_response", "response");
    expectReplyTo(reply, in);
    EXPECT_EQ(reply.correlation_id, Value("1"));
    EXPECT_EQ(reply.properties.at("qmf.content"), Value("_data"));
    EXPECT_FALSE(reply.properties.contains("partial"));
    EXPECT_EQ(reply.content_type, "amqp/list");

    const List& items = bodyList(reply);
    ASSERT_EQ(items.size(), 1u);
    const Map& data = *items[0].map();
    EXPECT_EQ(data.at("_values"), Value(Map{}));
    EXPECT_EQ(data.at("_object_id"), Value(factoryAddress()));
    const Map& schema_id = mapAt(data, "_schema_id");
    EXPECT_EQ(schema_id.at("_package_name"), Value("com.redhat.imagefactory"));
    EXPECT_EQ(schema_id.at("_class_name"), Value("ImageFactory"));
    EXPECT_EQ(schema_id.at("_type"), Value("_data"));
    EXPECT_EQ(schema_id.at("_hash"), Value(schema::findClass("", "ImageFactory")->hash));
    EXPECT_EQ(data.at("_create_ts").type(), Value::Type::UInt64);
    EXPECT_EQ(data.at("_delete_ts"), Value(uint64_t{0}));
}

TEST_F(AgentFixtureTest, SchemaQueryReturnsImageFactorySchema) {
    Message in = loadFixture("schema_query");
    auto out = harness_.send(in);
    ASSERT_EQ(out.size(), 1u);
    const Message& reply = out[0];
    expectAgentProperties(reply, "_query_response", "response");
    EXPECT_EQ(reply.correlation_id, Value("2"));
    EXPECT_EQ(reply.properties.at("qmf.content"), Value("_schema"));
    EXPECT_FALSE(reply.properties.contains("partial"));

    const List& items = bodyList(reply);
    ASSERT_EQ(items.size(), 1u);
    const Map& schema_map = *items[0].map();
    EXPECT_EQ(mapAt(schema_map, "_schema_id").at("_class_name"), Value("ImageFactory"));
    const List& methods = *schema_map.at("_methods").list();
    ASSERT_EQ(methods.size(), 4u);
    const Map& build_image = *methods[0].map();
    EXPECT_EQ(build_image.at("_name"), Value("build_image"));
    const List& arguments = *build_image.at("_arguments").list();
    std::vector<std::string> names;
    for (const Value& argument : arguments) {
        names.push_back(*textField(*argument.map(), "_name"));
        EXPECT_EQ(argument.map()->at("_access"), Value("RO"));
    }
    EXPECT_EQ(names, (std::vector<std::string>{"image", "build", "template", "targets",
                                               "build_adaptors"}));
    EXPECT_EQ(arguments[4].map()->at("_dir"), Value("O"));
    EXPECT_EQ(arguments[3].map()->at("_type"), Value("TYPE_LIST"));
}

TEST_F(AgentFixtureTest, SchemaQueryWithForeignHashIsEmpty) {
    Message in = loadFixture("schema_query");
    Map& schema_id = *in.body.map()->at("_schema_id").map();
    schema_id["_hash"] = *parseUuid("3dc3a86a-a803-d8b8-6a11-4425452c4385");
    auto out = harness_.send(in);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(bodyList(out[0]).empty());
}

TEST_F(AgentFixtureTest, BuildImageThenQueryByAddress) {
    Message call = loadFixture("build_image_request");
    auto out = harness_.send(call);
    ASSERT_EQ(out.size(), 1u);
    const Message& reply = out[0];
    expectAgentProperties(reply, "_method_response", "response");
    expectReplyTo(reply, call);
    EXPECT_EQ(reply.correlation_id, Value("3"));
    EXPECT_EQ(reply.content_type, "amqp/map");

    const Map& arguments = mapAt(bodyMap(reply), "_arguments");
    const List* adaptors = arguments.at("build_adaptors").list();
    ASSERT_NE(adaptors, nullptr);
    ASSERT_EQ(adaptors->size(), 1u);
    const Map& address = *(*adaptors)[0].map();
    EXPECT_EQ(address.at("_agent_name"), Value(kAgentName));
    EXPECT_EQ(address.at("_agent_epoch"), Value(uint32_t{1}));
    std::string object_name = *textField(address, "_object_name");
    const std::string prefix = "build_adaptor:build_image:";
    ASSERT_EQ(object_name.rfind(prefix, 0), 0u) << object_name;
    std::string job_id = object_name.substr(prefix.size());
    ASSERT_TRUE(harness_.waitUntilEnded(job_id));

    Message query = loadFixture("query_by_address");
    (*query.body.map()->at("_object_id").map())["_object_name"] = Binary{object_name};
    auto results = harness_.send(query);
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].correlation_id, Value("4"));
    EXPECT_EQ(results[0].properties.at("qmf.content"), Value("_data"));
    const List& items = bodyList(results[0]);
    ASSERT_EQ(items.size(), 1u);
    const Map& data = *items[0].map();
    EXPECT_EQ(data.at("_object_id"), Value(address));
    EXPECT_EQ(mapAt(data, "_schema_id").at("_class_name"), Value("BuildAdaptor"));
    const Map& values = mapAt(data, "_values");
    EXPECT_EQ(values.at("status"), Value("COMPLETED"));
    EXPECT_EQ(values.at("percent_complete"), Value(int64_t{100}));
    EXPECT_EQ(values.at("image_id"), Value(job_id));
    EXPECT_EQ(values.at("image").type(), Value::Type::String);
    EXPECT_FALSE(textField(values, "image")->empty());
    EXPECT_FALSE(textField(values, "build")->empty());
}

TEST_F(AgentFixtureTest, UnknownMethodIsException) {
    Message in = loadFixture("unknown_method_request");
    auto out = harness_.send(in);
    ASSERT_EQ(out.size(), 1u);
    const Message& reply = out[0];
    expectAgentProperties(reply, "_exception", "response");
    expectReplyTo(reply, in);
    EXPECT_EQ(reply.correlation_id, Value("9"));
    EXPECT_EQ(reply.properties.at("qmf.content"), Value("_data"));
    EXPECT_EQ(reply.content_type, "amqp/map");
    const Map& values = exceptionValues(reply);
    EXPECT_EQ(values.at("error_code"), Value(uint32_t{2}));
    std::string text = *textField(values, "error_text");
    EXPECT_NE(text.find("'no_such_method'"), std::string::npos) << text;
    EXPECT_NE(text.find("ImageFactory"), std::string::npos) << text;
}

TEST_F(AgentFixtureTest, UnknownTargetNamesIt) {
    Message call = loadFixture("build_image_request");
    Map& arguments = *call.body.map()->at("_arguments").map();
    arguments["targets"] = List{Value("ec2")};
    auto out = harness_.send(call);
    ASSERT_EQ(out.size(), 1u);
    std::string text = *textField(exceptionValues(out[0]), "error_text");
    EXPECT_NE(text.find("ec2"), std::string::npos) << text;
}

}  // namespace
}  // namespace imagefactory::qmf::testing
