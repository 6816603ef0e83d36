/**
 * The replay's clock (replay/sim/queue.ts): events run by time, those at the same time in the
 * order they were scheduled, whether one by one or in bulk (`series`), including events
 * scheduled while others run (never before now), and `stop()` ends the run after the event that
 * made it true.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { EventQueue } from "../../replay/sim/queue";

describe("EventQueue", () => {
    it("runs events by time, then in the order scheduled, as a stable sort would", () => {
        fc.assert(
            fc.property(
                fc.array(
                    fc.record({
                        at: fc.integer({ min: 0, max: 50 }),
                        // Events each one schedules when it runs, by delay (0: at once).
                        children: fc.array(fc.integer({ min: -5, max: 20 }), { maxLength: 3 }),
                    }),
                    { maxLength: 60 },
                ),
                // How many of the events are scheduled one by one; the rest go in one series.
                fc.nat({ max: 60 }),
                (events, single) => {
                    const clock = new EventQueue();
                    const ran: Array<{ at: number; id: number }> = [];
                    // What should run: [time, scheduling order, id], sorted at the end.
                    const expected: Array<[number, number, number]> = [];
                    let order = 0;
                    let nextId = 0;
                    /** Books the event in `expected` and returns what it does when it runs. */
                    const event = (at: number, children: number[]): (() => void) => {
                        const id = nextId++;
                        expected.push([Math.max(at, clock.now), order++, id]);
                        return () => {
                            ran.push({ at: clock.now, id });
                            for (const delay of children) {
                                clock.at(clock.now + delay, event(clock.now + delay, []));
                            }
                        };
                    };
                    for (const e of events.slice(0, single))
                        clock.at(e.at, event(e.at, e.children));
                    const bulk = events
                        .slice(single)
                        .map((e) => ({ ...e, run: event(e.at, e.children) }));
                    clock.series(
                        bulk,
                        (e) => e.at,
                        (e) => e.run(),
                    );
                    clock.run();
                    expected.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
                    // Children are scheduled while the run goes on, never before their parent:
                    // the expected order is the order of (time, scheduling order).
                    assert.deepEqual(
                        ran.map((r) => r.id),
                        expected.map((e) => e[2]),
                    );
                    assert.deepEqual(
                        ran.map((r) => r.at),
                        expected.map((e) => e[0]),
                    );
                    assert.equal(clock.pending, 0);
                },
            ),
        );
    });

    it("stops after the event that made stop() true, keeping the rest", () => {
        const clock = new EventQueue();
        const ran: number[] = [];
        for (const at of [5, 1, 3]) clock.at(at, () => ran.push(at));
        clock.series(
            [3, 9],
            (at) => at,
            (at) => ran.push(at),
        );
        const end = clock.run(() => ran.length === 3);
        assert.deepEqual(ran, [1, 3, 3]);
        assert.equal(end, 3);
        assert.equal(clock.pending, 2);
        clock.soon(() => ran.push(-1));
        clock.run();
        assert.deepEqual(ran, [1, 3, 3, -1, 5, 9]);
    });

    it("refuses an event at NaN", () => {
        assert.throws(() => new EventQueue().at(NaN, () => undefined), /scheduled at NaN/);
        assert.throws(
            () =>
                new EventQueue().series(
                    [1],
                    () => NaN,
                    () => undefined,
                ),
            /scheduled at NaN/,
        );
    });
});
