/*
 * Reads an iCalendar stream on stdin with libical's icalparser (the parser of Evolution and KDE PIM) and prints one
 * JSON object: every VEVENT as libical reads it, every X-LIC-ERROR the parser attached, and what
 * icalrestriction_check (RFC 5546 iTIP rules for the calendar's METHOD) says. Exit status: 0 when the parser found
 * no error, 1 when it did, 2 when the input is not a VCALENDAR. Restriction failures are reported, not fatal: the
 * test decides which of them matter.
 */
#include <libical/ical.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *read_line(char *s, size_t size, void *data) {
  return fgets(s, (int)size, (FILE *)data);
}

static void json_string(const char *s) {
  if (s == NULL) {
    fputs("null", stdout);
    return;
  }
  putchar('"');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') printf("\\%c", *p);
    else if (*p < 0x20) printf("\\u%04x", *p);
    else putchar(*p);
  }
  putchar('"');
}

/* A DATE-TIME as "20261201T100000Z", or null; utc tells whether libical holds it as UTC with no TZID. */
static void json_time(icalproperty *prop, int *all_utc) {
  if (prop == NULL) {
    fputs("null", stdout);
    *all_utc = 0;
    return;
  }
  struct icaltimetype t = icalproperty_get_dtstart(prop); /* same value accessor for DTSTART and DTEND */
  if (icalproperty_isa(prop) == ICAL_DTEND_PROPERTY) t = icalproperty_get_dtend(prop);
  if (!icaltime_is_utc(t) || icaltime_is_date(t) || icalproperty_get_first_parameter(prop, ICAL_TZID_PARAMETER) != NULL) {
    *all_utc = 0;
  }
  json_string(icaltime_as_ical_string(t));
}

/*
 * Prints X-LIC-ERRORs of c and its children as JSON strings (after `count` already printed) and returns the new
 * count: parse errors when `restriction` is NULL, else iTIP restriction errors, each prefixed with `restriction`.
 */
static int print_errors(icalcomponent *c, int count, const char *restriction) {
  for (icalproperty *p = icalcomponent_get_first_property(c, ICAL_XLICERROR_PROPERTY); p != NULL;
       p = icalcomponent_get_next_property(c, ICAL_XLICERROR_PROPERTY)) {
    icalparameter *type = icalproperty_get_first_parameter(p, ICAL_XLICERRORTYPE_PARAMETER);
    const char *type_name = type ? icalparameter_enum_to_string(icalparameter_get_xlicerrortype(type)) : "UNKNOWN";
    int is_restriction = type && icalparameter_get_xlicerrortype(type) == ICAL_XLICERRORTYPE_INVALIDITIP;
    if ((restriction == NULL) == is_restriction) continue;
    if (count > 0) putchar(',');
    char line[4096];
    snprintf(line, sizeof line, "%s%s%s %s: %s", restriction ? restriction : "", restriction ? ": " : "",
             icalcomponent_kind_to_string(icalcomponent_isa(c)), type_name,
             icalproperty_get_xlicerror(p));
    json_string(line);
    count++;
  }
  for (icalcomponent *child = icalcomponent_get_first_component(c, ICAL_ANY_COMPONENT); child != NULL;
       child = icalcomponent_get_next_component(c, ICAL_ANY_COMPONENT)) {
    count = print_errors(child, count, restriction);
  }
  return count;
}

int main(void) {
  icalparser *parser = icalparser_new();
  icalparser_set_gen_data(parser, stdin);
  icalcomponent *root = icalparser_parse(parser, read_line);
  icalparser_free(parser);
  if (root == NULL || icalcomponent_isa(root) != ICAL_VCALENDAR_COMPONENT) {
    fprintf(stderr, "libical-check: no VCALENDAR parsed (%s)\n", icalerror_strerror(icalerrno));
    return 2;
  }

  fputs("{\"parseErrors\":[", stdout);
  int parse_errors = print_errors(root, 0, NULL);
  fputs("],\"events\":[", stdout);
  int all_utc = 1, n = 0;
  for (icalcomponent *e = icalcomponent_get_first_component(root, ICAL_VEVENT_COMPONENT); e != NULL;
       e = icalcomponent_get_next_component(root, ICAL_VEVENT_COMPONENT), n++) {
    if (n > 0) putchar(',');
    icalproperty *url = icalcomponent_get_first_property(e, ICAL_URL_PROPERTY);
    fputs("{\"uid\":", stdout);
    json_string(icalcomponent_get_uid(e));
    fputs(",\"summary\":", stdout);
    json_string(icalcomponent_get_summary(e));
    fputs(",\"location\":", stdout);
    json_string(icalcomponent_get_location(e));
    fputs(",\"url\":", stdout);
    json_string(url ? icalproperty_get_url(url) : NULL);
    fputs(",\"start\":", stdout);
    json_time(icalcomponent_get_first_property(e, ICAL_DTSTART_PROPERTY), &all_utc);
    fputs(",\"end\":", stdout);
    json_time(icalcomponent_get_first_property(e, ICAL_DTEND_PROPERTY), &all_utc);
    putchar('}');
  }
  printf("],\"allUtc\":%s", all_utc ? "true" : "false");
  /*
   * icalrestriction_check stops at the first component that breaks a rule (its loop short-circuits), so each VEVENT
   * is checked alone, in a copy of the calendar: once under the calendar's own METHOD (iTIP, RFC 5546) and once with
   * METHOD removed, which applies only RFC 5545's own cardinality rules.
   */
  fputs(",\"restrictionErrors\":[", stdout);
  int count = 0;
  for (int with_method = 1; with_method >= 0; with_method--) {
    for (icalcomponent *e = icalcomponent_get_first_component(root, ICAL_VEVENT_COMPONENT); e != NULL;
         e = icalcomponent_get_next_component(root, ICAL_VEVENT_COMPONENT)) {
      icalcomponent *alone = icalcomponent_new(ICAL_VCALENDAR_COMPONENT);
      for (icalproperty *p = icalcomponent_get_first_property(root, ICAL_ANY_PROPERTY); p != NULL;
           p = icalcomponent_get_next_property(root, ICAL_ANY_PROPERTY)) {
        icalproperty_kind kind = icalproperty_isa(p);
        if (kind == ICAL_XLICERROR_PROPERTY || (kind == ICAL_METHOD_PROPERTY && !with_method)) continue;
        icalcomponent_add_property(alone, icalproperty_new_clone(p));
      }
      icalcomponent_add_component(alone, icalcomponent_new_clone(e));
      if (!icalrestriction_check(alone)) {
        char prefix[600];
        snprintf(prefix, sizeof prefix, "%s%s", with_method ? "" : "no METHOD: ", icalcomponent_get_uid(e));
        count = print_errors(alone, count, prefix);
      }
      icalcomponent_free(alone);
    }
  }
  /* And the whole calendar as served, METHOD (or its absence) and all. */
  icalcomponent *whole = icalcomponent_new_clone(root);
  if (!icalrestriction_check(whole)) count = print_errors(whole, count, "calendar");
  icalcomponent_free(whole);
  fputs("]}\n", stdout);
  icalcomponent_free(root);
  return parse_errors > 0 ? 1 : 0;
}
