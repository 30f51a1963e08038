/*
 * test_schema.c - the JSON Schema subset: one table line per (schema,
 * instance) with the expected error count and first error, one per invalid
 * schema with the pointer into the schema, then the limits (depth, pattern
 * size, error buffer), long names, threads and out of memory.
 *
 * JSON in the tables is written with ' for " to stay readable; a real
 * apostrophe would be \u0027.
 */
#include "test.h"

#include <pthread.h>
#include <stdlib.h>

#include "handlers/rest/schema.h"

static json_t *parse_quoted(int line, const char *text)
{
    size_t n = strlen(text);
    char *buf = malloc(n + 1);
    for (size_t i = 0; i <= n; i++)
        buf[i] = text[i] == '\'' ? '"' : text[i];
    json_error_t e;
    json_t *v = json_loads(buf, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    if (!v)
        test_fail(__FILE__, line, "bad test JSON %s: %s", buf, e.text);
    free(buf);
    return v;
}

static const struct valid_case {
    int line;
    const char *schema, *instance;
    size_t count;
    const char *pointer, *message; /* of the first error; message is a substring */
} cases[] = {
/* clang-format off */
#define OK(s, i) { __LINE__, s, i, 0, NULL, NULL }
#define ERR(s, i, n, p, m) { __LINE__, s, i, n, p, m }
    /* clang-format on */
    /* type: names, arrays of names, integer vs number */
    OK("{'type':'string'}", "'x'"),
    ERR("{'type':'string'}", "1", 1, "", "must be of type string (is integer)"),
    OK("{'type':'integer'}", "1"),
    OK("{'type':'integer'}", "1.0"),
    OK("{'type':'integer'}", "1e2"),
    OK("{'type':'integer'}", "-0.0"),
    ERR("{'type':'integer'}", "1.5", 1, "", "must be of type integer (is number)"),
    ERR("{'type':'integer'}", "'1'", 1, "", "must be of type integer (is string)"),
    OK("{'type':'number'}", "3"),
    OK("{'type':'number'}", "3.25"),
    ERR("{'type':'number'}", "'3'", 1, "", "must be of type number (is string)"),
    OK("{'type':'boolean'}", "false"),
    ERR("{'type':'boolean'}", "0", 1, "", "must be of type boolean (is integer)"),
    OK("{'type':'null'}", "null"),
    ERR("{'type':'null'}", "false", 1, "", "(is boolean)"),
    ERR("{'type':'object'}", "[]", 1, "", "must be of type object (is array)"),
    ERR("{'type':'array'}", "{}", 1, "", "must be of type array (is object)"),
    OK("{'type':['string','null']}", "null"),
    OK("{'type':['string','null']}", "'s'"),
    ERR("{'type':['string','null']}", "7", 1, "", "must be of type string or null (is integer)"),
    ERR("{'type':['integer','boolean','array']}", "{}", 1, "",
        "must be of type integer, boolean or array (is object)"),
    OK("{'type':['number','integer']}", "2.5"),
    /* numeric bounds, exact across integer and real */
    ERR("{'minimum':3}", "1", 1, "", "must be at least 3 (is 1)"),
    OK("{'minimum':3}", "3"),
    OK("{'minimum':3}", "3.0"),
    ERR("{'minimum':2.5}", "2", 1, "", "must be at least 2.5 (is 2)"),
    ERR("{'maximum':10}", "10.5", 1, "", "must be at most 10 (is 10.5)"),
    OK("{'maximum':10}", "10"),
    ERR("{'exclusiveMinimum':0}", "0", 1, "", "must be greater than 0 (is 0)"),
    ERR("{'exclusiveMinimum':0}", "-0.5", 1, "", "must be greater than 0 (is -0.5)"),
    OK("{'exclusiveMinimum':0}", "0.001"),
    ERR("{'exclusiveMaximum':100}", "100.0", 1, "", "must be less than 100 (is 100)"),
    OK("{'exclusiveMaximum':100}", "99"),
    ERR("{'minimum':9007199254740993}", "9007199254740992", 1, "",
        "must be at least 9007199254740993 (is 9007199254740992)"),
    ERR("{'maximum':9007199254740992.0}", "9007199254740993", 1, "", "must be at most"),
    OK("{'maximum':9.3e18}", "9223372036854775807"),
    OK("{'minimum':-9.3e18}", "-9223372036854775807"),
    ERR("{'maximum':-9.3e18}", "-9223372036854775807", 1, "", "must be at most -9.3e+18 (is"),
    ERR("{'minimum':0.1}", "0.05", 1, "", "must be at least 0.1 (is 0.05)"),
    OK("{'minimum':1,'maximum':1}", "1"),
    ERR("{'minimum':5,'maximum':1}", "3", 2, "", "must be at least 5 (is 3)"),
    OK("{'minimum':1,'exclusiveMaximum':0}", "'not a number'"),
    /* string lengths in code points */
    ERR("{'minLength':3}", "'ab'", 1, "", "has 2 characters; at least 3 required"),
    OK("{'minLength':3}", "'h\\u00e9\\u00e9'"),
    OK("{'maxLength':2}", "'\\u00e9\\u20ac'"),
    ERR("{'maxLength':2}", "'\\ud83d\\ude00\\ud83d\\ude00x'", 1, "",
        "has 3 characters; at most 2 allowed"),
    ERR("{'minLength':2}", "'\\u00e9'", 1, "", "has 1 character; at least 2 required"),
    ERR("{'minLength':1}", "''", 1, "", "has 0 characters; at least 1 required"),
    ERR("{'maxLength':2.0}", "'abc'", 1, "", "at most 2 allowed"),
    OK("{'minLength':0}", "''"),
    OK("{'maxLength':0}", "5"),
    /* pattern: ECMA-262 regexes, unanchored */
    OK("{'pattern':'^[a-z]+$'}", "'abc'"),
    ERR("{'pattern':'^[a-z]+$'}", "'aBc'", 1, "", "does not match pattern '^[a-z]+$'"),
    OK("{'pattern':'b'}", "'abc'"),
    OK("{'pattern':''}", "'anything'"),
    OK("{'pattern':'^\\\\d{3}-\\\\d{4}$'}", "'555-1234'"),
    ERR("{'pattern':'^\\\\d{3}-\\\\d{4}$'}", "'555-12a4'", 1, "", "does not match pattern"),
    OK("{'pattern':'^\\\\w+$'}", "'a_Z9'"),
    ERR("{'pattern':'^\\\\w+$'}", "'a-1'", 1, "", "does not match"),
    ERR("{'pattern':'^\\\\w+$'}", "'\\u00e9'", 1, "", "does not match"),
    OK("{'pattern':'\\\\s'}", "'a b'"),
    OK("{'pattern':'\\\\s'}", "'a\\u00a0b'"),
    OK("{'pattern':'\\\\s'}", "'\\u2028'"),
    ERR("{'pattern':'\\\\s'}", "'ab'", 1, "", "does not match"),
    OK("{'pattern':'^\\\\D+$'}", "'abc'"),
    ERR("{'pattern':'^\\\\D+$'}", "'a1'", 1, "", "does not match"),
    OK("{'pattern':'^\\\\W$'}", "'-'"),
    OK("{'pattern':'^\\\\S+$'}", "'ab'"),
    ERR("{'pattern':'^\\\\S+$'}", "'a b'", 1, "", "does not match"),
    OK("{'pattern':'^.{2}$'}", "'\\u00e9\\u20ac'"),
    OK("{'pattern':'^.$'}", "'\\ud83d\\ude00'"),
    ERR("{'pattern':'^.$'}", "'\\n'", 1, "", "does not match"),
    ERR("{'pattern':'^.$'}", "'\\u2028'", 1, "", "does not match"),
    OK("{'pattern':'^[^]$'}", "'\\n'"),
    ERR("{'pattern':'[]'}", "'a'", 1, "", "does not match pattern '[]'"),
    ERR("{'pattern':'[]'}", "''", 1, "", "does not match pattern '[]'"),
    OK("{'pattern':'^a[]*$'}", "'a'"),
    OK("{'pattern':'[]|b'}", "'b'"),
    OK("{'pattern':'^[\\\\]\\\\[^-]+$'}", "']^[-'"),
    ERR("{'pattern':'^[\\\\]\\\\[^-]+$'}", "'a'", 1, "", "does not match"),
    OK("{'pattern':'^[.:=]+$'}", "':.='"),
    ERR("{'pattern':'^[.:=]+$'}", "'a'", 1, "", "does not match"),
    OK("{'pattern':'^[^^]$'}", "'a'"),
    ERR("{'pattern':'^[^^]$'}", "'^'", 1, "", "does not match"),
    OK("{'pattern':'^[\\\\^]$'}", "'^'"),
    ERR("{'pattern':'^[\\\\^]$'}", "'a'", 1, "", "does not match"),
    OK("{'pattern':'^[-^]$'}", "'-'"),
    OK("{'pattern':'^[\\\\\\\\]$'}", "'\\\\'"),
    ERR("{'pattern':'^[\\\\\\\\]$'}", "'a'", 1, "", "does not match"),
    OK("{'pattern':'^[a\\\\-z]+$'}", "'a-z'"),
    ERR("{'pattern':'^[a\\\\-z]+$'}", "'b'", 1, "", "does not match"),
    OK("{'pattern':'^[\\\\u00e0-\\\\u00ff]+$'}", "'\\u00e0\\u00ff'"),
    ERR("{'pattern':'^[\\\\u00e0-\\\\u00ff]+$'}", "'a'", 1, "", "does not match"),
    OK("{'pattern':'^[^\\\\u00e0-\\\\u00ff]$'}", "'\\u20ac'"),
    OK("{'pattern':'^[\\\\x20-\\\\u00ff]+$'}", "' ~\\u00ff'"),
    OK("{'pattern':'^[\\\\d\\\\s]+$'}", "'1 2'"),
    OK("{'pattern':'^[^\\\\x00-\\\\x1f\\\\x7f]*$'}", "'abc \\u00e9'"),
    ERR("{'pattern':'^[^\\\\x00-\\\\x1f\\\\x7f]*$'}", "'a\\tb'", 1, "", "does not match"),
    ERR("{'pattern':'[\\\\0\\\\u0000]'}", "'a'", 1, "", "does not match"),
    OK("{'pattern':'^(?:ab)+$'}", "'abab'"),
    OK("{'pattern':'^(?<year>\\\\d{4})-(?<m>\\\\d\\\\d)$'}", "'2024-01'"),
    OK("{'pattern':'^a+?b$'}", "'aab'"),
    OK("{'pattern':'^a{2,}?b{1,2}?$'}", "'aaabb'"),
    OK("{'pattern':'^a{,2}$'}", "'a{,2}'"),
    OK("{'pattern':'^x{$'}", "'x{'"),
    OK("{'pattern':'\\\\.'}", "'a.b'"),
    ERR("{'pattern':'\\\\.'}", "'ab'", 1, "", "does not match"),
    OK("{'pattern':'^\\\\x41\\\\u0042\\\\u{43}$'}", "'ABC'"),
    OK("{'pattern':'^\\\\ud83d\\\\ude00$'}", "'\\ud83d\\ude00'"),
    OK("{'pattern':'^\\ud83d\\ude00+$'}", "'\\ud83d\\ude00\\ud83d\\ude00'"),
    OK("{'pattern':'^\\\\$\\\\(\\\\)\\\\*\\\\/$'}", "'$()*/'"),
    OK("{'pattern':'a|b'}", "'xbx'"),
    OK("{'pattern':'^(a|)$'}", "''"),
    OK("{'pattern':'^\\\\t\\\\n$'}", "'\\t\\n'"),
    OK("{'pattern':'^[\\\\b]$'}", "'\\b'"),
    OK("{'pattern':'^a]}$'}", "'a]}'"),
    OK("{'pattern':'^(a{2}){3}$'}", "'aaaaaa'"),
    ERR("{'pattern':'^(a{2}){3}$'}", "'aaaaa'", 1, "", "does not match"),
    OK("{'pattern':'^a$'}", "5"),
    /* format */
    OK("{'format':'email'}", "'a@b.co'"),
    OK("{'format':'email'}", "'first.last+tag@mail.example.org'"),
    OK("{'format':'email'}", "'jos\\u00e9@ex\\u00e4mple.de'"),
    ERR("{'format':'email'}", "'a b@c.de'", 1, "", "is not a valid email address"),
    ERR("{'format':'email'}", "'abc'", 1, "", "is not a valid email address"),
    ERR("{'format':'email'}", "'a@b'", 1, "", "is not a valid email address"),
    ERR("{'format':'email'}", "'@b.co'", 1, "", "is not a valid email address"),
    ERR("{'format':'email'}", "'a@@b.co'", 1, "", "is not a valid email address"),
    ERR("{'format':'email'}", "'.a@b.co'", 1, "", "is not a valid email address"),
    ERR("{'format':'email'}", "'a..b@c.co'", 1, "", "is not a valid email address"),
    ERR("{'format':'email'}", "'a@b..co'", 1, "", "is not a valid email address"),
    ERR("{'format':'email'}", "'a@-b.co'", 1, "", "is not a valid email address"),
    ERR("{'format':'email'}", "'a@b.co.'", 1, "", "is not a valid email address"),
    ERR("{'format':'email'}", "'a@b.co\\n'", 1, "", "is not a valid email address"),
    OK("{'format':'date-time'}", "'2024-02-29T12:00:00Z'"),
    OK("{'format':'date-time'}", "'2024-01-31t09:30:00.123+05:30'"),
    OK("{'format':'date-time'}", "'2024-01-01T00:00:00z'"),
    OK("{'format':'date-time'}", "'1998-12-31T23:59:60Z'"),
    OK("{'format':'date-time'}", "'1998-12-31T15:59:60.123-08:00'"),
    OK("{'format':'date-time'}", "'2000-02-29T23:59:59-23:59'"),
    ERR("{'format':'date-time'}", "'2023-02-29T12:00:00Z'", 1, "", "is not a valid date-time"),
    ERR("{'format':'date-time'}", "'1900-02-29T12:00:00Z'", 1, "", "is not a valid date-time"),
    ERR("{'format':'date-time'}", "'2024-04-31T12:00:00Z'", 1, "", "is not a valid date-time"),
    ERR("{'format':'date-time'}", "'2024-01-31 09:30:00Z'", 1, "", "is not a valid date-time"),
    ERR("{'format':'date-time'}", "'2024-13-01T00:00:00Z'", 1, "", "is not a valid date-time"),
    ERR("{'format':'date-time'}", "'2024-00-01T00:00:00Z'", 1, "", "is not a valid date-time"),
    ERR("{'format':'date-time'}", "'2024-01-01T24:00:00Z'", 1, "", "is not a valid date-time"),
    ERR("{'format':'date-time'}", "'2024-01-01T00:60:00Z'", 1, "", "is not a valid date-time"),
    ERR("{'format':'date-time'}", "'1998-12-31T22:59:60Z'", 1, "", "is not a valid date-time"),
    ERR("{'format':'date-time'}", "'1998-12-31T23:58:60Z'", 1, "", "is not a valid date-time"),
    ERR("{'format':'date-time'}", "'2024-01-01T00:00:00'", 1, "", "is not a valid date-time"),
    ERR("{'format':'date-time'}", "'2024-01-01T00:00:00+24:00'", 1, "", "valid date-time"),
    ERR("{'format':'date-time'}", "'2024-01-01T00:00:00+0100'", 1, "", "valid date-time"),
    ERR("{'format':'date-time'}", "'2024-01-01T00:00:00.Z'", 1, "", "valid date-time"),
    ERR("{'format':'date-time'}", "'2024-01-01T00:00:00Zjunk'", 1, "", "valid date-time"),
    ERR("{'format':'date-time'}", "'2024-01-01'", 1, "", "valid date-time"),
    ERR("{'format':'date-time'}", "'\\u0662024-01-01T00:00:00Z'", 1, "", "valid date-time"),
    OK("{'format':'uri'}", "'https://example.com/a?b=c#d'"),
    OK("{'format':'uri'}", "'urn:isbn:0451450523'"),
    OK("{'format':'uri'}", "'mailto:a@b.c'"),
    OK("{'format':'uri'}", "'http://[::1]:8080/x%41'"),
    OK("{'format':'uri'}", "'tag:'"),
    ERR("{'format':'uri'}", "'//example.com/'", 1, "", "is not a valid URI"),
    ERR("{'format':'uri'}", "'/relative/path'", 1, "", "is not a valid URI"),
    ERR("{'format':'uri'}", "'http://exa mple.com'", 1, "", "is not a valid URI"),
    ERR("{'format':'uri'}", "'http://a/\\u00e9'", 1, "", "is not a valid URI"),
    ERR("{'format':'uri'}", "'http://a/\\u0001'", 1, "", "is not a valid URI"),
    ERR("{'format':'uri'}", "'http://a/[x]'", 1, "", "is not a valid URI"),
    ERR("{'format':'uri'}", "'http://a/%zz'", 1, "", "is not a valid URI"),
    ERR("{'format':'uri'}", "'http://a/%4'", 1, "", "is not a valid URI"),
    ERR("{'format':'uri'}", "'1http://a'", 1, "", "is not a valid URI"),
    ERR("{'format':'uri'}", "'ht,tp://a'", 1, "", "is not a valid URI"),
    ERR("{'format':'uri'}", "'http://a#b#c'", 1, "", "is not a valid URI"),
    ERR("{'format':'uri'}", "'http://a/<b>'", 1, "", "is not a valid URI"),
    OK("{'format':'hostname'}", "'!! not checked'"),
    OK("{'format':'email'}", "5"),
    /* arrays */
    ERR("{'minItems':1}", "[]", 1, "", "has 0 items; at least 1 required"),
    ERR("{'maxItems':1}", "[1,2]", 1, "", "has 2 items; at most 1 allowed"),
    ERR("{'minItems':2}", "[1]", 1, "", "has 1 item; at least 2 required"),
    OK("{'maxItems':1}", "[1]"),
    OK("{'minItems':3}", "'abc'"),
    ERR("{'items':{'type':'string'}}", "['a',1,'b',2]", 2, "/1",
        "must be of type string (is integer)"),
    OK("{'items':{'type':'string'}}", "[]"),
    ERR("{'items':false}", "[1]", 1, "/0", "is not allowed"),
    OK("{'items':false}", "[]"),
    OK("{'items':true}", "[1,'a',null]"),
    ERR("{'properties':{'tags':{'items':{'maxLength':3}}}}", "{'tags':['a','b','c','long']}", 1,
        "/tags/3", "has 4 characters; at most 3 allowed"),
    ERR("{'items':{'items':{'minimum':0}}}", "[[0],[1,-1]]", 1, "/1/1", "must be at least 0"),
    /* objects */
    ERR("{'required':['email']}", "{}", 1, "", "required property 'email' is missing"),
    ERR("{'required':['a','b']}", "{'a':1}", 1, "", "required property 'b' is missing"),
    OK("{'required':['a']}", "{'a':null}"),
    OK("{'required':['a']}", "['a']"),
    OK("{'required':[]}", "{}"),
    ERR("{'properties':{'age':{'type':'integer','minimum':0}}}", "{'age':-1}", 1, "/age",
        "must be at least 0 (is -1)"),
    ERR("{'properties':{'age':{'type':'integer','minimum':0}}}", "{'age':'x'}", 1, "/age",
        "must be of type integer (is string)"),
    OK("{'properties':{'age':{'type':'integer'}}}", "{'name':'x'}"),
    ERR("{'properties':{'address':{'properties':{'zip':{'pattern':'^\\\\d{5}$'}}}}}",
        "{'address':{'zip':'1234'}}", 1, "/address/zip", "does not match pattern '^\\d{5}$'"),
    ERR("{'properties':{'a/b':{'type':'string'}}}", "{'a/b':1}", 1, "/a~1b", "must be of type"),
    ERR("{'properties':{'m~n':{'type':'string'}}}", "{'m~n':1}", 1, "/m~0n", "must be of type"),
    ERR("{'properties':{'~/~1':{'type':'string'}}}", "{'~/~1':1}", 1, "/~0~1~01",
        "must be of type"),
    ERR("{'properties':{'':{'type':'string'}}}", "{'':1}", 1, "/", "must be of type"),
    ERR("{'properties':{'a':{}},'additionalProperties':false}", "{'a':1,'x':2}", 1, "/x",
        "additional property 'x' is not allowed"),
    ERR("{'properties':{'a':{}},'additionalProperties':{'type':'string'}}",
        "{'a':1,'x':2,'y':'ok'}", 1, "/x", "must be of type string (is integer)"),
    ERR("{'additionalProperties':false}", "{'q':1,'r':2}", 2, "/q",
        "additional property 'q' is not allowed"),
    OK("{'additionalProperties':true}", "{'q':1}"),
    OK("{'additionalProperties':false}", "{}"),
    OK("{'additionalProperties':false}", "[1]"),
    ERR("{'properties':{'secret':false}}", "{'secret':1}", 1, "/secret", "is not allowed"),
    OK("{'properties':{'a':true}}", "{'a':1}"),
    /* enum and const, by JSON value */
    ERR("{'enum':['red','green']}", "'blue'", 1, "", "must be one of the enumerated values"),
    OK("{'enum':['red','green']}", "'green'"),
    OK("{'enum':[1,2]}", "1.0"),
    OK("{'enum':[1.0]}", "1"),
    ERR("{'enum':[1,2]}", "'1'", 1, "", "must be one of the enumerated values"),
    OK("{'enum':[{'a':[1,{'b':null}]}]}", "{'a':[1,{'b':null}]}"),
    ERR("{'enum':[{'a':[1,{'b':null}]}]}", "{'a':[1,{'b':0}]}", 1, "", "enumerated"),
    ERR("{'enum':[{'a':1}]}", "{'a':1,'b':2}", 1, "", "enumerated"),
    ERR("{'enum':[[1,2]]}", "[2,1]", 1, "", "enumerated"),
    OK("{'enum':[null]}", "null"),
    ERR("{'enum':[null]}", "0", 1, "", "enumerated"),
    ERR("{'enum':[]}", "0", 1, "", "enumerated"),
    ERR("{'const':'x'}", "'y'", 1, "", "must be equal to the constant value"),
    OK("{'const':{'a':1}}", "{'a':1.0}"),
    ERR("{'const':null}", "false", 1, "", "must be equal to the constant value"),
    ERR("{'const':false}", "0", 1, "", "must be equal to the constant value"),
    ERR("{'const':'a\\u0000b'}", "'a'", 1, "", "must be equal to the constant value"),
    /* every violation is counted; unknown keywords are ignored */
    ERR("{'type':'object','required':['a','b','c'],'properties':{'d':{'type':'string'}}}",
        "{'d':1}", 4, "", "required property 'a' is missing"),
    ERR("{'type':'string','enum':['x'],'const':'x','minLength':2}", "5", 3, "",
        "must be of type string (is integer)"),
    OK("{'foo':1,'$ref':'#/nowhere','title':'t','$schema':'x'}", "1"),
    OK("{}", "{'anything':[1,2,3]}"),
#undef OK
#undef ERR
};

TEST(validation_table)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct valid_case *c = &cases[i];
        json_t *schema = parse_quoted(c->line, c->schema);
        json_t *inst = parse_quoted(c->line, c->instance);
        struct nxx_schema_error err;
        struct nxx_schema *s = schema ? nxx_schema_compile(schema, &err) : NULL;
        if (!s) {
            test_fail(__FILE__, c->line, "schema %s rejected: %s: %s", c->schema, err.pointer,
                      err.message);
        } else if (inst) {
            struct nxx_schema_error errs[8];
            memset(errs, 0, sizeof(errs));
            size_t n = nxx_schema_validate(s, inst, errs, 8);
            if (n != c->count)
                test_fail(__FILE__, c->line, "%s against %s: %zu errors, want %zu (first: %s %s)",
                          c->instance, c->schema, n, c->count, errs[0].pointer, errs[0].message);
            else if (c->count && (strcmp(errs[0].pointer, c->pointer) != 0 ||
                                  !strstr(errs[0].message, c->message)))
                test_fail(__FILE__, c->line,
                          "%s against %s: first error '%s' \"%s\", want '%s' \"%s\"", c->instance,
                          c->schema, errs[0].pointer, errs[0].message, c->pointer, c->message);
        }
        nxx_schema_free(s);
        json_decref(schema);
        json_decref(inst);
    }
}

static const struct invalid_case {
    int line;
    const char *schema, *pointer, *message;
} invalid[] = {
/* clang-format off */
#define BAD(s, p, m) { __LINE__, s, p, m }
    /* clang-format on */
    BAD("[]", "", "schema must be a JSON object"),
    BAD("true", "", "schema must be a JSON object"),
    BAD("'string'", "", "schema must be a JSON object"),
    BAD("{'type':'strin'}", "/type", "unknown type 'strin'"),
    BAD("{'type':'String'}", "/type", "unknown type 'String'"),
    BAD("{'type':5}", "/type", "must be a type name or an array of type names"),
    BAD("{'type':[]}", "/type", "must not be an empty array"),
    BAD("{'type':['string',1]}", "/type/1", "must be a type name"),
    BAD("{'type':['string','null','string']}", "/type/2", "type 'string' is listed twice"),
    BAD("{'minimum':'3'}", "/minimum", "must be a number"),
    BAD("{'maximum':null}", "/maximum", "must be a number"),
    BAD("{'exclusiveMinimum':true}", "/exclusiveMinimum", "must be a number"),
    BAD("{'exclusiveMaximum':[1]}", "/exclusiveMaximum", "must be a number"),
    BAD("{'minLength':-1}", "/minLength", "must be a non-negative integer"),
    BAD("{'maxLength':'2'}", "/maxLength", "must be a non-negative integer"),
    BAD("{'minItems':1.5}", "/minItems", "must be a non-negative integer"),
    BAD("{'maxItems':-0.5}", "/maxItems", "must be a non-negative integer"),
    BAD("{'required':'a'}", "/required", "must be an array of property names"),
    BAD("{'required':['a',1]}", "/required/1", "must be a property name"),
    BAD("{'required':['a','b','a']}", "/required/2", "property 'a' is listed twice"),
    BAD("{'enum':'a'}", "/enum", "must be an array"),
    BAD("{'format':1}", "/format", "must be a string"),
    BAD("{'properties':[]}", "/properties", "must be an object"),
    BAD("{'properties':{'a':1}}", "/properties/a", "must be a schema"),
    BAD("{'properties':{'a/b':{'properties':{'c~d':{'type':'x'}}}}}",
        "/properties/a~1b/properties/c~0d/type", "unknown type 'x'"),
    BAD("{'additionalProperties':'no'}", "/additionalProperties", "must be a schema"),
    BAD("{'additionalProperties':{'minimum':'x'}}", "/additionalProperties/minimum",
        "must be a number"),
    BAD("{'items':[{}]}", "/items", "prefixItems"),
    BAD("{'items':{'minimum':'x'}}", "/items/minimum", "must be a number"),
    BAD("{'properties':{'a':{'items':{'additionalProperties':{'minLength':'x'}}}}}",
        "/properties/a/items/additionalProperties/minLength", "non-negative integer"),
    BAD("{'pattern':5}", "/pattern", "must be a string"),
    BAD("{'pattern':'(?=a)'}", "/pattern", "lookahead and lookbehind are not supported"),
    BAD("{'pattern':'a(?!b)'}", "/pattern", "lookahead and lookbehind"),
    BAD("{'pattern':'(?<=a)b'}", "/pattern", "lookahead and lookbehind"),
    BAD("{'pattern':'(?<!a)b'}", "/pattern", "lookahead and lookbehind"),
    BAD("{'pattern':'(a)\\\\1'}", "/pattern", "backreferences are not supported"),
    BAD("{'pattern':'(?<x>a)\\\\k<x>'}", "/pattern", "backreferences are not supported"),
    BAD("{'pattern':'(?i)a'}", "/pattern", "unsupported group syntax"),
    BAD("{'pattern':'(?<>a)'}", "/pattern", "invalid group name"),
    BAD("{'pattern':'(a'}", "/pattern", "unterminated group"),
    BAD("{'pattern':'a)'}", "/pattern", "unmatched ')'"),
    BAD("{'pattern':'[a'}", "/pattern", "unterminated character class"),
    BAD("{'pattern':'*a'}", "/pattern", "nothing to repeat"),
    BAD("{'pattern':'a**'}", "/pattern", "nothing to repeat"),
    BAD("{'pattern':'a?\?\?'}", "/pattern", "nothing to repeat"),
    BAD("{'pattern':'(|*)'}", "/pattern", "nothing to repeat"),
    BAD("{'pattern':'^*'}", "/pattern", "nothing to repeat"),
    BAD("{'pattern':'{2}'}", "/pattern", "nothing to repeat"),
    BAD("{'pattern':'[z-a]'}", "/pattern", "character range out of order"),
    BAD("{'pattern':'a{3,1}'}", "/pattern", "repetition range out of order"),
    BAD("{'pattern':'a{1001}'}", "/pattern", "repetition count above 1000"),
    BAD("{'pattern':'(a{1000}){1000}'}", "/pattern", "too complex"),
    BAD("{'pattern':'((a{100}){100})+'}", "/pattern", "too complex"),
    BAD("{'pattern':'\\\\p{L}'}", "/pattern", "Unicode property escapes"),
    BAD("{'pattern':'\\\\bword'}", "/pattern", "word boundaries"),
    BAD("{'pattern':'[\\\\D]'}", "/pattern", "inside a character class"),
    BAD("{'pattern':'[\\\\d-z]'}", "/pattern", "range endpoint"),
    BAD("{'pattern':'\\\\q'}", "/pattern", "unknown escape"),
    BAD("{'pattern':'\\\\'}", "/pattern", "ends with a backslash"),
    BAD("{'pattern':'\\\\0'}", "/pattern", "NUL characters are not supported outside"),
    BAD("{'pattern':'a\\\\x00'}", "/pattern", "NUL characters are not supported outside"),
    BAD("{'pattern':'[\\\\01]'}", "/pattern", "octal escapes"),
    BAD("{'pattern':'\\\\x4'}", "/pattern", "two hex digits"),
    BAD("{'pattern':'\\\\u12'}", "/pattern", "four hex digits"),
    BAD("{'pattern':'\\\\ud800'}", "/pattern", "lone surrogate"),
    BAD("{'pattern':'\\\\u{110000}'}", "/pattern", "\\u{...}"),
    BAD("{'pattern':'\\\\cA'}", "/pattern", "control escapes"),
    BAD("{'pattern':'[\\\\u4e00-\\\\u9fff]'}", "/pattern", "more than 1024"),
    BAD("{'pattern':'((((((((((((((((((((((((((((((((((a))))))))))))))))))))))))))))))))))'}",
        "/pattern", "groups nest too deeply"),
    BAD("{'properties':{'p':{'pattern':'(?=x)'}}}", "/properties/p/pattern", "lookahead"),
#undef BAD
};

TEST(invalid_schema_table)
{
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        const struct invalid_case *c = &invalid[i];
        json_t *schema = parse_quoted(c->line, c->schema);
        if (!schema)
            continue;
        struct nxx_schema_error err;
        memset(&err, 'x', sizeof(err));
        struct nxx_schema *s = nxx_schema_compile(schema, &err);
        if (s)
            test_fail(__FILE__, c->line, "schema %s accepted", c->schema);
        else if (strcmp(err.pointer, c->pointer) != 0 || !strstr(err.message, c->message))
            test_fail(__FILE__, c->line, "schema %s: '%s' \"%s\", want '%s' \"%s\"", c->schema,
                      err.pointer, err.message, c->pointer, c->message);
        nxx_schema_free(s);
        json_decref(schema);
    }
}

TEST(compile_without_error_buffer)
{
    json_t *bad = json_loads("{\"type\":1}", 0, NULL);
    CHECK(nxx_schema_compile(bad, NULL) == NULL);
    json_t *good = json_loads("{\"type\":\"string\"}", 0, NULL);
    struct nxx_schema *s = nxx_schema_compile(good, NULL);
    CHECK(s != NULL);
    nxx_schema_free(s);
    nxx_schema_free(NULL);
    CHECK(nxx_schema_compile(NULL, NULL) == NULL);
    json_decref(bad);
    json_decref(good);
}

TEST(schema_is_copied_at_compile)
{
    /* the caller may free or change its document once compiled */
    json_t *doc =
        json_loads("{\"properties\":{\"a\":{\"enum\":[1]}},\"required\":[\"a\"]}", 0, NULL);
    struct nxx_schema *s = nxx_schema_compile(doc, NULL);
    CHECK(s != NULL);
    json_object_clear(doc);
    json_decref(doc);
    json_t *inst = json_loads("{\"a\":2}", 0, NULL);
    struct nxx_schema_error e[2];
    CHECK_EQ_INT(nxx_schema_validate(s, inst, e, 2), 1);
    CHECK_EQ_STR(e[0].pointer, "/a");
    json_decref(inst);
    nxx_schema_free(s);
}

/* {"items": {"items": ... {}}} with depth schema objects in all. */
static json_t *nested_items(int depth)
{
    json_t *s = json_object();
    for (int i = 1; i < depth; i++) {
        json_t *outer = json_object();
        json_object_set_new(outer, "items", s);
        s = outer;
    }
    return s;
}

TEST(depth_limit_at_compile)
{
    json_t *ok = nested_items(64);
    struct nxx_schema_error err;
    struct nxx_schema *s = nxx_schema_compile(ok, &err);
    CHECK(s != NULL);

    /* 64 nested arrays validate through 64 levels */
    json_t *inst = json_array(), *cur = inst;
    for (int i = 1; i < 64; i++) {
        json_t *inner = json_array();
        json_array_append_new(cur, inner);
        cur = inner;
    }
    json_array_append_new(cur, json_integer(1));
    CHECK_EQ_INT(nxx_schema_validate(s, inst, NULL, 0), 0);
    json_decref(inst);
    nxx_schema_free(s);
    json_decref(ok);

    json_t *deep = nested_items(65);
    CHECK(nxx_schema_compile(deep, &err) == NULL);
    CHECK(strstr(err.message, "schema nests deeper than 64 levels") != NULL);
    /* the pointer names the 65th level, "/items" 64 times: 384 bytes, cut to fit */
    CHECK(strncmp(err.pointer, "/items/items/", 13) == 0);
    CHECK_EQ_INT(strlen(err.pointer), 255);
    CHECK(strcmp(err.pointer + 252, "...") == 0);
    json_decref(deep);

    /* shallower keys show the whole pointer */
    json_t *props = json_loads("{\"properties\":{\"a\":{}}}", 0, NULL), *leaf = props;
    for (int i = 2; i < 64; i++) {
        json_t *next = json_loads("{\"properties\":{\"a\":{}}}", 0, NULL);
        json_object_set_new(json_object_get(json_object_get(leaf, "properties"), "a"), "properties",
                            json_incref(json_object_get(next, "properties")));
        leaf = json_object_get(json_object_get(leaf, "properties"), "a");
        json_decref(next);
    }
    s = nxx_schema_compile(props, &err);
    CHECK(s != NULL); /* 64 levels */
    nxx_schema_free(s);
    json_object_set_new(json_object_get(json_object_get(leaf, "properties"), "a"), "type",
                        json_integer(1));
    CHECK(nxx_schema_compile(props, &err) == NULL);
    CHECK(strstr(err.message, "must be a type name") != NULL);
    CHECK_EQ_INT(strlen(err.pointer), 63 * 13 > 255 ? 255 : 63 * 13 + 5);
    json_decref(props);
}

TEST(depth_limit_of_the_document)
{
    struct nxx_schema_error err;
    /* far deeper than any limit, built in memory: refused before any recursion */
    json_t *very = nested_items(100000);
    CHECK(nxx_schema_compile(very, &err) == NULL);
    CHECK(strstr(err.message, "schema document nests deeper than 512 levels") != NULL);
    CHECK(strncmp(err.pointer, "/items/items/", 13) == 0);
    json_decref(very);

    /* deep values inside enum and const count too */
    json_t *arr = json_array(), *cur = arr;
    for (int i = 0; i < 600; i++) {
        json_t *inner = json_array();
        json_array_append_new(cur, inner);
        cur = inner;
    }
    json_t *schema = json_pack("{s:[s,o]}", "enum", "x", arr);
    CHECK(nxx_schema_compile(schema, &err) == NULL);
    CHECK(strstr(err.message, "deeper than 512") != NULL);
    CHECK(strncmp(err.pointer, "/enum/1/0/0/0/", 14) == 0);
    json_decref(schema);

    /* 510 levels inside enum (512 with the schema and the enum array) are fine */
    json_t *ok = json_array();
    cur = ok;
    for (int i = 1; i < 510; i++) {
        json_t *inner = json_array();
        json_array_append_new(cur, inner);
        cur = inner;
    }
    schema = json_pack("{s:[O]}", "enum", ok);
    struct nxx_schema *s = nxx_schema_compile(schema, &err);
    CHECK(s != NULL);
    CHECK_EQ_INT(nxx_schema_validate(s, ok, NULL, 0), 0);
    json_t *other = json_array();
    CHECK_EQ_INT(nxx_schema_validate(s, other, NULL, 0), 1);
    json_decref(other);
    nxx_schema_free(s);
    json_decref(schema);
    json_decref(ok);
}

TEST(deep_instances_are_harmless)
{
    /* an instance as deep as the parser allows, against enum, const and items */
    size_t depth = 2000;
    char *text = malloc(2 * depth + 1);
    for (size_t i = 0; i < depth; i++) {
        text[i] = '[';
        text[2 * depth - 1 - i] = ']';
    }
    text[2 * depth] = '\0';
    json_t *inst = json_loads(text, 0, NULL);
    CHECK(inst != NULL);
    json_t *schema = json_loads(
        "{\"enum\":[[[[1]]]],\"const\":[[]],\"items\":{\"items\":{\"minItems\":2}}}", 0, NULL);
    struct nxx_schema *s = nxx_schema_compile(schema, NULL);
    CHECK(s != NULL);
    struct nxx_schema_error e[4];
    CHECK_EQ_INT(nxx_schema_validate(s, inst, e, 4), 3);
    CHECK_EQ_STR(e[2].pointer, "/0/0");
    CHECK(strstr(e[2].message, "has 1 item; at least 2 required") != NULL);
    nxx_schema_free(s);
    json_decref(schema);
    json_decref(inst);
    free(text);
}

TEST(every_violation_counted_at_most_max_written)
{
    json_t *schema = json_loads("{\"items\":{\"type\":\"integer\"}}", 0, NULL);
    json_t *inst = json_loads("[\"a\",1,\"b\",\"c\",true,null]", 0, NULL);
    struct nxx_schema *s = nxx_schema_compile(schema, NULL);
    struct nxx_schema_error e[4];
    memset(e, 0x5a, sizeof(e));
    CHECK_EQ_INT(nxx_schema_validate(s, inst, e, 3), 5);
    CHECK_EQ_STR(e[0].pointer, "/0");
    CHECK_EQ_STR(e[1].pointer, "/2");
    CHECK_EQ_STR(e[2].pointer, "/3");
    CHECK(strstr(e[2].message, "(is string)") != NULL);
    /* nothing written past max */
    CHECK_EQ_INT((unsigned char)e[3].pointer[0], 0x5a);
    CHECK_EQ_INT((unsigned char)e[3].message[0], 0x5a);
    /* counting only */
    CHECK_EQ_INT(nxx_schema_validate(s, inst, NULL, 10), 5);
    CHECK_EQ_INT(nxx_schema_validate(s, inst, e, 0), 5);
    json_t *good = json_loads("[1,2,3]", 0, NULL);
    CHECK_EQ_INT(nxx_schema_validate(s, good, e, 4), 0);
    json_decref(good);
    nxx_schema_free(s);
    json_decref(schema);
    json_decref(inst);
}

TEST(pointers_and_messages_for_every_error)
{
    json_t *schema =
        json_loads("{\"properties\":{\"a/b\":{\"type\":\"string\"},\"m~n\":{\"maxLength\":1},"
                   "\"list\":{\"items\":{\"properties\":{\"x\":{\"minimum\":1}}}}},"
                   "\"required\":[\"id\"],\"additionalProperties\":false}",
                   0, NULL);
    json_t *inst =
        json_loads("{\"m~n\":\"long\",\"zz\":0,\"a/b\":7,\"list\":[{\"x\":1},{\"x\":0}]}", 0, NULL);
    struct nxx_schema *s = nxx_schema_compile(schema, NULL);
    struct nxx_schema_error e[8];
    CHECK_EQ_INT(nxx_schema_validate(s, inst, e, 8), 5);
    /* required first, then "properties" in schema order, then additional members */
    CHECK_EQ_STR(e[0].pointer, "");
    CHECK_EQ_STR(e[0].message, "required property 'id' is missing");
    CHECK_EQ_STR(e[1].pointer, "/a~1b");
    CHECK_EQ_STR(e[1].message, "must be of type string (is integer)");
    CHECK_EQ_STR(e[2].pointer, "/m~0n");
    CHECK_EQ_STR(e[2].message, "has 4 characters; at most 1 allowed");
    CHECK_EQ_STR(e[3].pointer, "/list/1/x");
    CHECK_EQ_STR(e[3].message, "must be at least 1 (is 0)");
    CHECK_EQ_STR(e[4].pointer, "/zz");
    CHECK_EQ_STR(e[4].message, "additional property 'zz' is not allowed");
    nxx_schema_free(s);
    json_decref(schema);
    json_decref(inst);
}

/* A JSON string of n copies of the UTF-8 character c. */
static char *repeat(const char *c, size_t n)
{
    size_t len = strlen(c);
    char *s = malloc(n * len + 1);
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * len, c, len);
    s[n * len] = '\0';
    return s;
}

TEST(long_names_are_cut_on_character_boundaries)
{
    char *key = repeat("\xc3\xa9", 300); /* 600 bytes */
    json_t *schema = json_loads("{\"additionalProperties\":false,\"required\":[\"x\"]}", 0, NULL);
    json_t *inst = json_object();
    json_object_set_new(inst, key, json_true());
    json_t *req = json_object_get(schema, "required");
    json_array_set_new(req, 0, json_string(key));
    struct nxx_schema *s = nxx_schema_compile(schema, NULL);
    CHECK(s != NULL);
    json_object_del(inst, key);
    char *key2 = repeat("\xe2\x82\xac", 200);
    json_object_set_new(inst, key2, json_true());
    struct nxx_schema_error e[2];
    CHECK_EQ_INT(nxx_schema_validate(s, inst, e, 2), 2);
    for (int i = 0; i < 2; i++) {
        /* jansson refuses strings that are not UTF-8: both must survive a problem body */
        json_t *p = json_string(e[i].pointer), *m = json_string(e[i].message);
        CHECK(p != NULL);
        CHECK(m != NULL);
        CHECK(strlen(e[i].pointer) < sizeof(e[i].pointer));
        json_decref(p);
        json_decref(m);
    }
    CHECK(strstr(e[0].message, "required property '\xc3\xa9\xc3\xa9") == e[0].message);
    CHECK(strstr(e[0].message, "...' is missing") != NULL);
    CHECK(strstr(e[1].pointer, "/\xe2\x82\xac\xe2\x82\xac") == e[1].pointer);
    CHECK(strstr(e[1].pointer, "...") != NULL);
    CHECK(strstr(e[1].message, "...' is not allowed") != NULL);
    nxx_schema_free(s);
    json_decref(schema);
    json_decref(inst);
    free(key);
    free(key2);
}

TEST(pattern_length_limit)
{
    char *src = repeat("a", 2049);
    json_t *schema = json_pack("{s:s}", "pattern", src);
    struct nxx_schema_error err;
    CHECK(nxx_schema_compile(schema, &err) == NULL);
    CHECK_EQ_STR(err.pointer, "/pattern");
    CHECK(strstr(err.message, "2049 bytes long; the limit is 2048") != NULL);
    json_decref(schema);
    src[2048] = '\0';
    schema = json_pack("{s:s}", "pattern", src);
    struct nxx_schema *s = nxx_schema_compile(schema, &err);
    CHECK(s != NULL);
    json_t *inst = json_string(src);
    CHECK_EQ_INT(nxx_schema_validate(s, inst, NULL, 0), 0);
    json_decref(inst);
    inst = json_string("aaa");
    CHECK_EQ_INT(nxx_schema_validate(s, inst, NULL, 0), 1);
    json_decref(inst);
    nxx_schema_free(s);
    json_decref(schema);
    free(src);
}

TEST(strings_with_nul_bytes)
{
    /* with JSON_ALLOW_NUL a string may hold NUL: lengths and patterns see all of it */
    json_t *schema = json_loads("{\"maxLength\":2,\"pattern\":\"b$\"}", 0, NULL);
    json_t *inst = json_loads("\"a\\u0000b\"", JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    CHECK(inst != NULL);
    struct nxx_schema *s = nxx_schema_compile(schema, NULL);
    struct nxx_schema_error e[2];
    CHECK_EQ_INT(nxx_schema_validate(s, inst, e, 2), 1);
    CHECK_EQ_STR(e[0].message, "has 3 characters; at most 2 allowed");
    nxx_schema_free(s);
    json_decref(schema);
    json_decref(inst);
}

struct thread_arg {
    const struct nxx_schema *s;
    int bad;
};

static void *validate_many(void *p)
{
    struct thread_arg *a = p;
    json_t *good = json_loads("{\"email\":\"a@b.co\",\"code\":\"x\xc3\xa9t-42\"}", 0, NULL);
    json_t *bad = json_loads("{\"email\":\"nope\",\"code\":\"ete-4\"}", 0, NULL);
    for (int i = 0; i < 2000; i++) {
        struct nxx_schema_error e[4];
        if (nxx_schema_validate(a->s, good, e, 4) != 0 || nxx_schema_validate(a->s, bad, e, 4) != 2)
            a->bad++;
    }
    json_decref(good);
    json_decref(bad);
    return NULL;
}

TEST(one_schema_many_threads)
{
    json_t *schema = json_loads("{\"properties\":{\"email\":{\"format\":\"email\"},"
                                "\"code\":{\"pattern\":\"^\\\\w?.{2}-\\\\d{2}$\"}}}",
                                0, NULL);
    struct nxx_schema_error err;
    struct nxx_schema *s = nxx_schema_compile(schema, &err);
    CHECK(s != NULL);
    pthread_t t[4];
    struct thread_arg a[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (struct thread_arg){ s, 0 };
        CHECK_EQ_INT(pthread_create(&t[i], NULL, validate_many, &a[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK_EQ_INT(a[i].bad, 0);
    }
    nxx_schema_free(s);
    json_decref(schema);
}

/* jansson's allocator, failing the allocation numbered fail_at (0 = never). */
static long alloc_n, fail_at;

static void *failing_malloc(size_t n)
{
    if (fail_at && ++alloc_n == fail_at)
        return NULL;
    return malloc(n);
}

TEST(out_of_memory_in_jansson)
{
    json_t *schema = json_loads("{\"properties\":{\"a\":{\"enum\":[1,{\"b\":[2]}]}},"
                                "\"required\":[\"a\",\"b\",\"c\"],\"items\":{\"const\":[1]}}",
                                0, NULL);
    json_set_alloc_funcs(failing_malloc, free);
    int failures = 0, done = 0;
    for (fail_at = 1; fail_at < 1000 && !done; fail_at++) {
        alloc_n = 0;
        struct nxx_schema_error err;
        struct nxx_schema *s = nxx_schema_compile(schema, &err);
        if (s) {
            done = alloc_n < fail_at;
            nxx_schema_free(s);
        } else {
            CHECK(strstr(err.message, "out of memory") != NULL);
            failures++;
        }
    }
    fail_at = 0;
    json_set_alloc_funcs(malloc, free);
    CHECK(done);
    CHECK(failures > 3);
    json_decref(schema);
}
