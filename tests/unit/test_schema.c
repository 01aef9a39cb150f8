/*
 * test_schema.c - the JSON Schema validator and the published schemas.
 *
 * JSON in these tests is written with single quotes for readability; the
 * helpers turn them into double quotes (no test needs a literal ').
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "harness.h"
#include "spool/format/schema.h"

static json_t *
parse(const char *text)
{
	json_error_t jerr;
	char *t = strdup(text), *p;
	json_t *j;

	if (t == NULL)
		abort();
	for (p = t; *p != '\0'; p++)
		if (*p == '\'')
			*p = '"';
	j = json_loads(t, JSON_DECODE_ANY, &jerr);
	if (j == NULL)
		fprintf(stdout, "#   bad test JSON: %s: %s\n", jerr.text, t);
	free(t);
	return j;
}

static struct spool_schema *
compile(const char *file, int line, const char *text, spool_err *err)
{
	struct spool_schema *s = NULL;
	json_t *j = parse(text);
	char *t;

	if (j == NULL)
		abort();
	t = json_dumps(j, JSON_ENCODE_ANY);
	json_decref(j);
	if (t == NULL)
		abort();
	if (spool_schema_compile(&s, t, err) != SPOOL_OK)
		unit_fail(file, line, "compile: %s", err->msg);
	free(t);
	return s;
}

/* Validates doc and compares the outcome: want NULL means valid, else
 * the exact reason. */
static void
expect(const char *file, int line, const struct spool_schema *s,
    json_t *doc, const char *want)
{
	spool_err err;
	int r;

	spool_err_clear(&err);
	if (s == NULL || doc == NULL) {
		unit_fail(file, line, "no schema or no document");
		json_decref(doc);
		return;
	}
	r = spool_schema_validate(s, doc, &err);
	if (want == NULL && r != SPOOL_OK)
		unit_fail(file, line, "expected valid, got %d: %s", r,
		    err.msg);
	else if (want != NULL && r != SPOOL_ERR_FORMAT)
		unit_fail(file, line, "expected \"%s\", got %d", want, r);
	else if (want != NULL && strcmp(err.msg, want) != 0)
		unit_fail(file, line, "reason \"%s\", expected \"%s\"",
		    err.msg, want);
	json_decref(doc);
}

static void
check_one(const char *file, int line, const char *schema, const char *doc,
    const char *want)
{
	spool_err err;
	struct spool_schema *s = compile(file, line, schema, &err);

	expect(file, line, s, parse(doc), want);
	spool_schema_free(s);
}

#define VALID(s, d) check_one(__FILE__, __LINE__, s, d, NULL)
#define INVALID(s, d, w) check_one(__FILE__, __LINE__, s, d, w)

/* The schema must fail to compile, with a reason containing sub. */
static void
refused(const char *file, int line, const char *schema, const char *sub)
{
	struct spool_schema *s = NULL;
	spool_err err;
	json_t *j = parse(schema);
	char *t = json_dumps(j, JSON_ENCODE_ANY);
	int r = spool_schema_compile(&s, t, &err);

	if (r != SPOOL_ERR_FORMAT)
		unit_fail(file, line, "compile -> %d, expected failure", r);
	else if (strstr(err.msg, sub) == NULL)
		unit_fail(file, line, "reason \"%s\" lacks \"%s\"", err.msg,
		    sub);
	spool_schema_free(s);
	free(t);
	json_decref(j);
}

#define REFUSED(s, sub) refused(__FILE__, __LINE__, s, sub)

TEST(schema_type)
{
	VALID("{'type':'object'}", "{}");
	INVALID("{'type':'object'}", "[]", "/: must be object");
	VALID("{'type':'array'}", "[1]");
	VALID("{'type':'string'}", "'x'");
	INVALID("{'type':'string'}", "1", "/: must be string");
	VALID("{'type':'integer'}", "-7");
	INVALID("{'type':'integer'}", "1.0", "/: must be integer");
	VALID("{'type':'number'}", "1.5");
	VALID("{'type':'number'}", "3");
	VALID("{'type':'boolean'}", "false");
	VALID("{'type':'null'}", "null");
	INVALID("{'type':'null'}", "0", "/: must be null");
	VALID("{'type':['string','null']}", "null");
	INVALID("{'type':['string','null']}", "true",
	    "/: must be string or null");
	REFUSED("{'type':'float'}", "unknown type float at /");
	REFUSED("{'type':[]}", "'type' must be");
}

TEST(schema_const_enum)
{
	VALID("{'const':'batch'}", "'batch'");
	INVALID("{'const':'batch'}", "'Batch'", "/: must be \"batch\"");
	INVALID("{'const':1}", "2", "/: must be 1");
	VALID("{'const':1}", "1.0"); /* equal by value, as JSON Schema says */
	VALID("{'const':{'a':[1,2]}}", "{'a':[1,2]}");
	INVALID("{'const':{'a':[1,2]}}", "{'a':[2,1]}", "/: must be {\"a\":[1,2]}");
	VALID("{'enum':['a','b',null]}", "null");
	INVALID("{'enum':['request','part','result']}", "'x'",
	    "/: must be one of \"request\", \"part\", \"result\"");
	REFUSED("{'enum':[]}", "'enum' must be a non-empty array");
	REFUSED("{'enum':[1],'const':1}", "together");
}

TEST(schema_string)
{
	const char *s = "{'minLength':2,'maxLength':3}";

	INVALID(s, "'a'", "/: must be at least 2 characters");
	VALID(s, "'ab'");
	VALID(s, "'\\u00e9t\\u00e9'"); /* 3 code points, 5 bytes */
	INVALID(s, "'abcd'", "/: must be at most 3 characters");
	VALID(s, "5"); /* string keywords ignore other types */
	VALID("{'pattern':'^[a-z]+$'}", "'abc'");
	INVALID("{'pattern':'^[a-z]+$'}", "'abC'",
	    "/: does not match pattern ^[a-z]+$");
	VALID("{'pattern':'b'}", "'abc'"); /* not anchored */
	INVALID("{'pattern':'^a\\\\.b$'}", "'axb'",
	    "/: does not match pattern ^a\\.b$");
	REFUSED("{'minLength':-1}", "'minLength' must be a non-negative");
	REFUSED("{'maxLength':1.0}", "'maxLength' must be a non-negative");
	REFUSED("{'pattern':'(a'}", "pattern '(a'");
}

/* A string with a NUL cannot be tested by regexec: it never matches. */
TEST(schema_string_nul)
{
	spool_err err;
	struct spool_schema *s = compile(__FILE__, __LINE__,
	    "{'pattern':'^[^/]+$'}", &err);

	expect(__FILE__, __LINE__, s, json_stringn("a\0/", 3),
	    "/: does not match pattern ^[^/]+$");
	expect(__FILE__, __LINE__, s, json_stringn("ab", 2), NULL);
	spool_schema_free(s);
}

TEST(schema_pattern_portable)
{
	REFUSED("{'pattern':'\\\\d+'}", "escape '\\d' is not portable");
	REFUSED("{'pattern':'[\\\\.]'}", "inside brackets");
	REFUSED("{'pattern':'[[:alpha:]]'}", "inside brackets");
	REFUSED("{'pattern':'[]a]'}", "']' first in brackets");
	VALID("{'pattern':'^[^/]+$'}", "'a.b'");
	VALID("{'pattern':'^(x|y)[a-z_.-]{0,3}\\\\.$'}", "'xa-.'");
	VALID("{'pattern':'^[a]]$'}", "'a]'"); /* ']' after a member */
}

TEST(schema_number)
{
	const char *s = "{'minimum':0,'maximum':9007199254740991}";

	VALID(s, "0");
	INVALID(s, "-1", "/: must be >= 0");
	INVALID(s, "-0.5", "/: must be >= 0");
	VALID(s, "9007199254740991");
	INVALID(s, "9007199254740992", "/: must be <= 9007199254740991");
	INVALID(s, "9007199254740991.5", "/: must be <= 9007199254740991");
	VALID("{'minimum':1.5}", "2");
	INVALID("{'minimum':1.5}", "1", "/: must be >= 1.5");
	/* exact integer/real comparison beyond 2^53 */
	INVALID("{'maximum':9007199254740992.0}", "9007199254740993",
	    "/: must be <= 9007199254740992");
	VALID("{'maximum':9007199254740992.0}", "9007199254740992");
	VALID("{'minimum':-1e300,'maximum':1e300}", "9223372036854775807");
	INVALID("{'maximum':-1e300}", "-9223372036854775807",
	    "/: must be <= -1.0000000000000001e+300");
	VALID(s, "'x'");
	REFUSED("{'minimum':'0'}", "'minimum' must be a number");
}

TEST(schema_object)
{
	const char *s = "{'type':'object','properties':{"
	    "'id':{'type':'string'},"
	    "'files':{'type':'array','items':{'type':'object','properties':"
	    "{'size':{'type':'integer','minimum':0}}}}},"
	    "'required':['id'],'additionalProperties':false,"
	    "'maxProperties':2}";

	VALID(s, "{'id':'x'}");
	INVALID(s, "{}", "/: missing required property \"id\"");
	INVALID(s, "{'id':1}", "/id: must be string");
	INVALID(s, "{'id':'x','files':[{'size':1},{'size':-1}]}",
	    "/files/1/size: must be >= 0");
	INVALID(s, "{'id':'x','extra':1}", "/: unknown property \"extra\"");
	INVALID(s, "{'id':'x','files':[],'extra':1}",
	    "/: must have at most 2 properties");
	VALID("{'additionalProperties':{'type':'integer'}}", "{'a':1}");
	INVALID("{'properties':{'a':{}},'additionalProperties':"
	    "{'type':'integer'}}", "{'a':'s','b':'s'}", "/b: must be integer");
	REFUSED("{'required':'id'}", "'required' must be an array");
	REFUSED("{'properties':[]}", "'properties' must be an object");
}

TEST(schema_pointer_escape)
{
	const char *s = "{'additionalProperties':{'type':'integer'}}";

	INVALID(s, "{'a/b~c':'x'}", "/a~1b~0c: must be integer");
	INVALID(s, "{'a\\nb':'x'}", "/a\\x0ab: must be integer");
	INVALID("{'additionalProperties':false}", "{'q\\'':1}",
	    "/: unknown property \"q\\\"\"");
	INVALID("{'required':['x\\ty']}", "{}",
	    "/: missing required property \"x\\x09y\"");
}

TEST(schema_array)
{
	const char *s = "{'type':'array','minItems':1,'maxItems':2,"
	    "'items':{'type':'integer'}}";

	VALID(s, "[1,2]");
	INVALID(s, "[]", "/: must have at least 1 items");
	INVALID(s, "[1,2,3]", "/: must have at most 2 items");
	INVALID(s, "[1,'x']", "/1: must be integer");
	REFUSED("{'items':[{'type':'integer'}]}",
	    "a schema must be an object or a boolean at /items");
}

TEST(schema_boolean_schemas)
{
	VALID("true", "{'a':1}");
	INVALID("false", "1", "/: no value is allowed here");
	INVALID("{'properties':{'a':false}}", "{'a':1}",
	    "/a: no value is allowed here");
	VALID("{'properties':{'a':false}}", "{}");
	REFUSED("[]", "a schema must be an object or a boolean at /");
}

TEST(schema_anyof_oneof_not)
{
	const char *any = "{'anyOf':[{'type':'string'},{'minimum':5}]}";
	const char *one = "{'oneOf':[{'type':'integer'},"
	    "{'type':'number','minimum':5}]}";

	VALID(any, "'x'");
	VALID(any, "7");
	INVALID(any, "3", "/: must be string"); /* a tie: the first */
	VALID(one, "3");
	VALID(one, "5.5");
	INVALID(one, "7", "/: matches more than one of oneOf");
	INVALID(one, "'x'", "/: must be integer");
	VALID("{'not':{'enum':['.','..']}}", "'...'");
	INVALID("{'not':{'enum':['.','..']}}", "'..'",
	    "/: must not be one of \".\", \"..\"");
	INVALID("{'not':{'const':0}}", "0", "/: must not be 0");
	INVALID("{'not':{'type':'string'}}", "'x'",
	    "/: must not match the \"not\" schema");
	REFUSED("{'oneOf':[]}", "'oneOf' must be a non-empty array");
	REFUSED("{'anyOf':{}}", "'anyOf' must be a non-empty array");
}

/* A failing oneOf names the branch that got deepest into the document,
 * and branches whose "const" property contradicts the document are
 * other variants of a discriminated union, never the explanation. */
TEST(schema_oneof_reason)
{
	const char *s = "{'oneOf':["
	    "{'properties':{'k':{'const':'a'},'x':{'properties':"
	    "{'y':{'type':'integer'}}}},'required':['k','x']},"
	    "{'properties':{'k':{'const':'b'},'z':{'type':'string'}},"
	    "'required':['k','z']}]}";

	INVALID(s, "{'k':'a','x':{'y':'s'}}", "/x/y: must be integer");
	INVALID(s, "{'k':'a'}", "/: missing required property \"x\"");
	INVALID(s, "{'k':'b'}", "/: missing required property \"z\"");
	INVALID(s, "{'k':'c'}", "/k: must be one of \"a\", \"b\"");
	INVALID(s, "{'x':{'y':'s'}}", "/: missing required property \"k\"");
	VALID(s, "{'k':'b','z':'s'}");
	/* without a discriminator: the deepest failure, wherever listed */
	s = "{'oneOf':[{'required':['z']},"
	    "{'properties':{'a':{'properties':{'b':{'type':'integer'}}}}}]}";
	INVALID(s, "{'a':{'b':'s'}}", "/a/b: must be integer");
	INVALID("{'anyOf':[{'required':['z']},"
	    "{'properties':{'a':{'type':'string'}}}]}", "{'a':1}",
	    "/a: must be string");
}

TEST(schema_ref)
{
	const char *s = "{'$defs':{'pos':{'type':'integer','minimum':1},"
	    "'pair':{'type':'array','items':{'$ref':'#/$defs/pos'}}},"
	    "'properties':{'p':{'$ref':'#/$defs/pair','maxItems':2}}}";

	VALID(s, "{'p':[1,2]}");
	INVALID(s, "{'p':[1,0]}", "/p/1: must be >= 1");
	INVALID(s, "{'p':[1,1,1]}", "/p: must have at most 2 items");
	REFUSED("{'$ref':'#/$defs/nope'}", "unresolvable $ref '#/$defs/nope'");
	REFUSED("{'$ref':'other.json#/$defs/a'}", "unsupported $ref");
	REFUSED("{'$ref':'#'}", "unsupported $ref");
	REFUSED("{'properties':{'a':{'$defs':{}}}}",
	    "'$defs' is supported only at the root at /properties/a");
	REFUSED("{'$defs':{'a':{'$id':'x'}}}",
	    "'$id' is supported only at the root at /$defs/a");
	REFUSED("{'$defs':{'a':{'type':'nope'}}}", "at /$defs/a");
	REFUSED("{'$defs':[]}", "'$defs' must be an object");
}

TEST(schema_ref_cycle)
{
	INVALID("{'$defs':{'a':{'$ref':'#/$defs/a'}},'$ref':'#/$defs/a'}",
	    "1", "/: more than 64 nested $ref (a cycle?)");
	INVALID("{'$defs':{'a':{'$ref':'#/$defs/b'},"
	    "'b':{'anyOf':[{'$ref':'#/$defs/a'}]}},'$ref':'#/$defs/a'}",
	    "{}", "/: more than 16 nested anyOf/oneOf");
	/* a bound hit under "not" (or in a branch) is never turned into a
	 * pass */
	INVALID("{'$defs':{'a':{'not':{'not':{'$ref':'#/$defs/a'}}}},"
	    "'$ref':'#/$defs/a'}", "{}", "/: more than 64 nested $ref (a cycle?)");
	INVALID("{'$defs':{'a':{'not':{'$ref':'#/$defs/a'}}},"
	    "'$ref':'#/$defs/a'}", "{}", "/: more than 64 nested $ref (a cycle?)");
	/* recursion that consumes the document is fine */
	VALID("{'$defs':{'t':{'type':'array','items':{'$ref':'#/$defs/t'}}},"
	    "'$ref':'#/$defs/t'}", "[[[],[[]]]]");
}

TEST(schema_depth)
{
	char deep[600];
	int i;

	for (i = 0; i < 64; i++) {
		deep[i] = '[';
		deep[64 + i] = ']';
	}
	deep[128] = '\0';
	VALID("{}", deep);
	memmove(deep + 1, deep, 129);
	deep[0] = '[';
	strcat(deep, "]");
	INVALID("{}", deep,
	    "/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0"
	    "/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0"
	    "/0/0: nested deeper than 64 levels");
	/* the schema too */
	deep[0] = '\0';
	for (i = 0; i < 65; i++)
		strcat(deep, "{'not':");
	strcat(deep, "true");
	for (i = 0; i < 65; i++)
		strcat(deep, "}");
	REFUSED(deep, "schema nested deeper than 64");
}

TEST(schema_unsupported_keyword)
{
	REFUSED("{'format':'email'}", "unsupported keyword 'format' at /");
	REFUSED("{'properties':{'a':{'type':'string','format':'date'}}}",
	    "unsupported keyword 'format' at /properties/a");
	REFUSED("{'patternProperties':{}}", "unsupported keyword "
	    "'patternProperties'");
	REFUSED("{'uniqueItems':true}", "unsupported keyword 'uniqueItems'");
	REFUSED("{'allOf':[true]}", "unsupported keyword 'allOf'");
	REFUSED("{'exclusiveMinimum':0}", "unsupported keyword");
	REFUSED("{'oneOf':[true,{'default':1}]}",
	    "unsupported keyword 'default' at /oneOf/1");
	REFUSED("{'$schema':'http://json-schema.org/draft-07/schema#'}",
	    "'$schema' must be 2020-12");
	VALID("{'$schema':'https://json-schema.org/draft/2020-12/schema',"
	    "'$id':'https://spool.invalid/x','title':'t','description':'d',"
	    "'$comment':'c','examples':[1]}", "1");
}

TEST(schema_compile_errors)
{
	struct spool_schema *s = NULL;
	spool_err err;

	CHECK_FAIL(spool_schema_compile(&s, "{\"type\":", &err),
	    SPOOL_ERR_FORMAT, "schema: line 1");
	CHECK_FAIL(spool_schema_compile(&s, "{\"type\":\"string\","
	    "\"type\":\"object\"}", &err), SPOOL_ERR_FORMAT, "duplicate");
	CHECK(s == NULL);
	CHECK_FAIL(spool_schema_load(&s, "no-such", &err),
	    SPOOL_ERR_NOTFOUND, "no embedded schema 'no-such'");
	CHECK_FAIL(spool_schema_validate(NULL, NULL, &err), SPOOL_ERR_USAGE,
	    "no schema");
	spool_schema_free(NULL);
}

/* Validation reports the code without a spool_err, too. */
TEST(schema_null_err)
{
	struct spool_schema *s = NULL;
	spool_err err;
	json_t *j = json_integer(1);

	CHECK_OK(spool_schema_compile(&s, "{\"type\":\"string\"}", &err));
	CHECK_INT(spool_schema_validate(s, j, NULL), SPOOL_ERR_FORMAT);
	CHECK_INT(spool_schema_compile(&s, "{\"nope\":1}", NULL),
	    SPOOL_ERR_FORMAT);
	spool_schema_free(s);
	json_decref(j);
}

/* ---- the published schemas --------------------------------------------- */

/* Sets the member at a slash path ("files/0/size") of doc to the JSON
 * value text, or removes it when text is NULL. */
static json_t *
edit(const char *base, const char *path, const char *text)
{
	json_t *doc = parse(base), *at = doc;
	char buf[128], *seg, *next;

	snprintf(buf, sizeof(buf), "%s", path);
	for (seg = buf; (next = strchr(seg, '/')) != NULL; seg = next + 1) {
		*next = '\0';
		at = json_is_array(at) ? json_array_get(at, strtoul(seg, NULL,
		    10)) : json_object_get(at, seg);
	}
	if (text == NULL)
		json_object_del(at, seg);
	else if (json_is_array(at))
		json_array_set_new(at, strtoul(seg, NULL, 10), parse(text));
	else
		json_object_set_new(at, seg, parse(text));
	return doc;
}

static const char header[] =
    "{'spool':'batch','version':1,"
    "'id':'01890a5d-ac96-774b-bcce-b302099a8057','from':'low','to':'high',"
    "'seq':42,'created':'2024-05-01T12:00:00Z','items':2,'bytes':1048576,"
    "'acks':[{'seq':17,'id':'01890a5d-ac96-774b-bcce-b302099a8058'}]}";

#define H0 "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8"
#define H1 "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a"

static const char request[] =
    "{'kind':'request','id':'01890a5d-ac96-774b-bcce-b302099a8057',"
    "'type':'raster','name':'dem.tif','user':'alice','priority':0,"
    "'created':'2024-05-01T12:00:00Z',"
    "'files':[{'name':'dem.tif','size':1048576,'blob':'" H0 "'}]}";

static const char part[] =
    "{'kind':'part','request':'01890a5d-ac96-774b-bcce-b302099a8057',"
    "'name':'big.tif','index':1,'count':3,'offset':1073741824,"
    "'size':1073741824,'blob':'" H0 "','file_size':3000000000,"
    "'file_blob':'" H1 "'}";

static const char result[] =
    "{'kind':'result','id':'01890a5e-0b1c-7d2e-9f30-4a5b6c7d8e9f',"
    "'request':'01890a5d-ac96-774b-bcce-b302099a8057',"
    "'status':'succeeded','files':[{'name':'dem.cog.tif','size':524288,"
    "'blob':'" H1 "'}],'lineage':[{"
    "'id':'01890a5e-0b1c-7d2e-9f30-4a5b6c7d8ea0','event':'derived',"
    "'time':'2024-05-01T12:06:30Z','node':'high',"
    "'used':['file:" H0 "'],'generated':['file:" H1 "']}]}";

#define EDIT(s, base, path, text, want) \
	expect(__FILE__, __LINE__, s, edit(base, path, text), want)

static struct spool_schema *
load(const char *name)
{
	struct spool_schema *s = NULL;
	spool_err err;

	if (spool_schema_load(&s, name, &err) != SPOOL_OK)
		unit_fail(__FILE__, __LINE__, "%s", err.msg);
	return s;
}

TEST(schema_embedded_compile)
{
	const struct spool_embedded_schema *e;
	struct spool_schema *s;
	spool_err err;
	int n = 0;

	for (e = spool_embedded_schemas; e->name != NULL; e++, n++) {
		CHECK_OK(spool_schema_load(&s, e->name, &err));
		spool_schema_free(s);
	}
	CHECK(n >= 2);
}

/* The examples published in each schema are valid under it. */
TEST(schema_embedded_examples)
{
	const struct spool_embedded_schema *e;
	struct spool_schema *s;
	spool_err err;
	json_t *doc, *ex;
	size_t i;

	for (e = spool_embedded_schemas; e->name != NULL; e++) {
		doc = json_loads(e->text, 0, NULL);
		REQUIRE(doc != NULL);
		CHECK_OK(spool_schema_load(&s, e->name, &err));
		CHECK(json_array_size(json_object_get(doc, "examples")) > 0);
		json_array_foreach(json_object_get(doc, "examples"), i, ex)
			expect(__FILE__, __LINE__, s, json_incref(ex), NULL);
		spool_schema_free(s);
		json_decref(doc);
	}
}

/* Definitions both schemas need are copies; they must not drift. */
TEST(schema_embedded_common_defs)
{
	static const char *const names[] = { "UUID", "NODE", "TIME" };
	const struct spool_embedded_schema *e;
	json_t *h = NULL, *it = NULL;
	size_t i;

	for (e = spool_embedded_schemas; e->name != NULL; e++) {
		if (strcmp(e->name, "batch-header") == 0)
			h = json_loads(e->text, 0, NULL);
		if (strcmp(e->name, "batch-item") == 0)
			it = json_loads(e->text, 0, NULL);
	}
	REQUIRE(h != NULL && it != NULL);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		json_t *a = json_object_get(json_object_get(h, "$defs"),
		    names[i]);
		json_t *b = json_object_get(json_object_get(it, "$defs"),
		    names[i]);
		CHECK(a != NULL && json_equal(a, b));
	}
	json_decref(h);
	json_decref(it);
}

TEST(schema_batch_header)
{
	struct spool_schema *s = load("batch-header");

	REQUIRE(s != NULL);
	expect(__FILE__, __LINE__, s, parse(header), NULL);
	EDIT(s, header, "acks", "[]", NULL);
	EDIT(s, header, "created", "'2024-05-01T12:00:00.123456789Z'", NULL);
	EDIT(s, header, "seq", "9999999999", NULL);
	EDIT(s, header, "version", "2", "/version: must be 1");
	EDIT(s, header, "spool", "'batches'", "/spool: must be \"batch\"");
	EDIT(s, header, "id", "'01890A5D-AC96-774B-BCCE-B302099A8057'",
	    "/id: does not match pattern ^[0-9a-f]{8}-[0-9a-f]{4}-"
	    "[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");
	EDIT(s, header, "from", "'low-side'",
	    "/from: does not match pattern ^[a-z0-9]{1,32}$");
	EDIT(s, header, "seq", "0", "/seq: must be >= 1");
	EDIT(s, header, "seq", "10000000000", "/seq: must be <= 9999999999");
	EDIT(s, header, "seq", "42.0", "/seq: must be integer");
	EDIT(s, header, "bytes", "-1", "/bytes: must be >= 0");
	EDIT(s, header, "created", "'2024-05-01T12:00:00+02:00'",
	    "/created: does not match pattern ^[0-9]{4}-[0-9]{2}-[0-9]{2}T"
	    "[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?Z$");
	EDIT(s, header, "created", "'2024-05-01T12:00:00.Z'",
	    "/created: does not match pattern ^[0-9]{4}-[0-9]{2}-[0-9]{2}T"
	    "[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?Z$");
	EDIT(s, header, "items", NULL, "/: missing required property \"items\"");
	EDIT(s, header, "extra", "1", "/: unknown property \"extra\"");
	EDIT(s, header, "acks/0/seq", "0", "/acks/0/seq: must be >= 1");
	EDIT(s, header, "acks/0/when", "1",
	    "/acks/0: unknown property \"when\"");
	EDIT(s, header, "acks/0", "17", "/acks/0: must be object");
	spool_schema_free(s);
}

TEST(schema_batch_header_acks_max)
{
	struct spool_schema *s = load("batch-header");
	json_t *doc = parse(header), *acks = json_array();
	int i;

	REQUIRE(s != NULL && doc != NULL && acks != NULL);
	for (i = 0; i < 100001; i++)
		json_array_append_new(acks, json_pack("{s:i,s:s}", "seq",
		    i + 1, "id", "01890a5d-ac96-774b-bcce-b302099a8057"));
	json_object_set_new(doc, "acks", acks);
	expect(__FILE__, __LINE__, s, doc,
	    "/acks: must have at most 100000 items");
	spool_schema_free(s);
}

TEST(schema_batch_item_request)
{
	struct spool_schema *s = load("batch-item");
	json_t *doc;
	int i;

	REQUIRE(s != NULL);
	expect(__FILE__, __LINE__, s, parse(request), NULL);
	EDIT(s, request, "folder", "'hot_rasters.v2'", NULL);
	EDIT(s, request, "expires", "'2024-05-02T12:00:00Z'", NULL);
	EDIT(s, request, "params", "{'crs':'EPSG:3857','x':{'y':[1]}}", NULL);
	EDIT(s, request, "files", "[]", NULL);
	EDIT(s, request, "files/0/parts", "3", NULL);
	EDIT(s, request, "name", "'...'", NULL);
	EDIT(s, request, "name", "'r\\u00e9sum\\u00e9 2024.tif'", NULL);
	/* the deepest branch names the real problem, not "oneOf" */
	EDIT(s, request, "files/0/blob", "'abc'",
	    "/files/0/blob: does not match pattern ^[0-9a-f]{64}$");
	EDIT(s, request, "files/0/size", "-1", "/files/0/size: must be >= 0");
	EDIT(s, request, "files/0/size", "9007199254740992",
	    "/files/0/size: must be <= 9007199254740991");
	EDIT(s, request, "files/0/parts", "1", "/files/0/parts: must be >= 2");
	EDIT(s, request, "files/0/mode", "420", NULL);
	EDIT(s, request, "files/0/mode", "512",
	    "/files/0/mode: must be <= 511");
	EDIT(s, request, "files/0/owner", "420",
	    "/files/0: unknown property \"owner\"");
	EDIT(s, request, "name", "'..'",
	    "/name: must not be one of \".\", \"..\"");
	EDIT(s, request, "name", "'.'",
	    "/name: must not be one of \".\", \"..\"");
	EDIT(s, request, "name", "'a/b'",
	    "/name: does not match pattern ^[^/]+$");
	EDIT(s, request, "name", "''", "/name: must be at least 1 characters");
	EDIT(s, request, "files/0/name", "'../x'",
	    "/files/0/name: does not match pattern ^[^/]+$");
	EDIT(s, request, "id", "'not-a-uuid'",
	    "/id: does not match pattern ^[0-9a-f]{8}-[0-9a-f]{4}-"
	    "[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");
	EDIT(s, request, "type", "'copy'",
	    "/type: must be one of \"transfer\", \"raster\", \"vector\", "
	    "\"query\", \"selftest\"");
	EDIT(s, request, "priority", "1001", "/priority: must be <= 1000");
	EDIT(s, request, "user", "''", "/user: must be at least 1 characters");
	EDIT(s, request, "folder", "'Hot'", "/folder: does not match pattern "
	    "^[a-z0-9][a-z0-9_.-]{0,63}$");
	EDIT(s, request, "user", NULL, "/: missing required property \"user\"");
	EDIT(s, request, "extra", "true", "/: unknown property \"extra\"");
	EDIT(s, request, "kind", "'job'",
	    "/kind: must be one of \"request\", \"part\", \"result\"");
	EDIT(s, request, "kind", NULL, "/: missing required property \"kind\"");
	EDIT(s, request, "kind", "'part'",
	    "/: missing required property \"request\"");
	expect(__FILE__, __LINE__, s, parse("[]"), "/: must be object");

	doc = parse(request);
	for (i = 0; i < 1000; i++)
		json_array_append(json_object_get(doc, "files"),
		    json_array_get(json_object_get(doc, "files"), 0));
	expect(__FILE__, __LINE__, s, doc,
	    "/files: must have at most 1000 items");
	doc = parse(request);
	json_object_set_new(doc, "params", json_object());
	for (i = 0; i < 65; i++) {
		char k[16];

		snprintf(k, sizeof(k), "p%d", i);
		json_object_set_new(json_object_get(doc, "params"), k,
		    json_null());
	}
	expect(__FILE__, __LINE__, s, doc,
	    "/params: must have at most 64 properties");
	spool_schema_free(s);
}

TEST(schema_batch_item_part)
{
	struct spool_schema *s = load("batch-item");

	REQUIRE(s != NULL);
	expect(__FILE__, __LINE__, s, parse(part), NULL);
	EDIT(s, part, "count", "1", "/count: must be >= 2");
	EDIT(s, part, "index", "-1", "/index: must be >= 0");
	EDIT(s, part, "name", "'..'",
	    "/name: must not be one of \".\", \"..\"");
	EDIT(s, part, "file_blob", NULL,
	    "/: missing required property \"file_blob\"");
	EDIT(s, part, "id", "'01890a5d-ac96-774b-bcce-b302099a8057'",
	    "/: unknown property \"id\"");
	spool_schema_free(s);
}

TEST(schema_batch_item_result)
{
	struct spool_schema *s = load("batch-item");

	REQUIRE(s != NULL);
	expect(__FILE__, __LINE__, s, parse(result), NULL);
	EDIT(s, result, "status", "'failed'", NULL);
	EDIT(s, result, "error", "'gdal: not a raster'", NULL);
	EDIT(s, result, "lineage/0/user", "'bob'", NULL);
	EDIT(s, result, "lineage/0/used/0",
	    "'request:01890a5d-ac96-774b-bcce-b302099a8057'", NULL);
	EDIT(s, result, "status", "'done'", "/status: must be one of "
	    "\"succeeded\", \"failed\", \"expired\", \"cancelled\"");
	EDIT(s, result, "lineage/0/event", "'copied'", "/lineage/0/event: "
	    "must be one of \"received\", \"batched\", \"exported\", "
	    "\"imported\", \"started\", \"derived\", \"delivered\", "
	    "\"purged\", \"failed\"");
	EDIT(s, result, "lineage/0/generated/0", "'blob:" H1 "'",
	    "/lineage/0/generated/0: does not match pattern "
	    "^(file|request|batch|job|task|output):[0-9a-f-]{1,64}$");
	EDIT(s, result, "lineage/0/node", "'High'",
	    "/lineage/0/node: does not match pattern ^[a-z0-9]{1,32}$");
	EDIT(s, result, "lineage/0/used", NULL,
	    "/lineage/0: missing required property \"used\"");
	EDIT(s, result, "files/0/size", "-5", "/files/0/size: must be >= 0");
	EDIT(s, result, "lineage", NULL,
	    "/: missing required property \"lineage\"");
	EDIT(s, result, "finished", "'yesterday'", "/finished: does not match "
	    "pattern ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
	    "(\\.[0-9]{1,9})?Z$");
	spool_schema_free(s);
}
