"""Reads an iCalendar stream on stdin with python-icalendar (Calendar.from_ical) and prints what it understood as JSON.

Exit status 0 when it parsed one VCALENDAR without recording an error, 1 otherwise (errors are in the JSON either way).
"""
import datetime
import json
import sys

import icalendar


def utc(component, name, errors):
    """A DATE-TIME property as ISO 8601 UTC, or None; anything but an aware UTC datetime is an error."""
    if name not in component:
        return None
    value = component.decoded(name)
    if not isinstance(value, datetime.datetime) or value.utcoffset() != datetime.timedelta(0) or 'TZID' in component[name].params:
        errors.append(f"{component.get('UID')}: {name} is not UTC: {component[name].to_ical().decode()}")
        return None
    return value.astimezone(datetime.timezone.utc).isoformat(timespec='milliseconds').replace('+00:00', 'Z')


def text(component, name):
    return None if name not in component else str(component[name])


def main():
    data = sys.stdin.buffer.read()
    errors = []
    calendars = icalendar.Calendar.from_ical(data, multiple=True)
    if len(calendars) != 1:
        errors.append(f'expected one VCALENDAR, got {len(calendars)}')
    calendar = calendars[0]
    events = []
    for component in calendar.walk():
        # python-icalendar does not raise on a bad property value: it records it in `errors` and keeps going.
        errors.extend(f'{component.name} {key}: {message}' for key, message in getattr(component, 'errors', []))
        if component.name != 'VEVENT':
            continue
        events.append({
            'uid': text(component, 'UID'),
            'summary': text(component, 'SUMMARY'),
            'location': text(component, 'LOCATION'),
            'url': text(component, 'URL'),
            'start': utc(component, 'DTSTART', errors),
            'end': utc(component, 'DTEND', errors),
        })
    json.dump({
        'version': icalendar.__version__,
        'calendarName': text(calendar, 'X-WR-CALNAME'),
        'events': events,
        'errors': errors,
    }, sys.stdout, ensure_ascii=False)
    sys.stdout.write('\n')
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
