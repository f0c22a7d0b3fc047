"""Lay out BPMN models: replace their diagram interchange (DI) with a lane-aware drawing.

Process owners open our models in Camunda Modeler and bpmn.io, which need full DI. The npm
bpmn-auto-layout ignores lanes, so this draws one pool per process, one horizontal band per
lane and the flow left to right, deterministically (same model, same drawing).

Usage: .venv/bin/python tools/bpmn/layout.py FILE.bpmn [...]   (rewrites each file in place)
"""

from __future__ import annotations

import math
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import count, pairwise
from pathlib import Path

from lxml import etree

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
DI_NSMAP = {"bpmndi": BPMNDI, "dc": DC, "di": DI}

EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent",
          "boundaryEvent"}
GATEWAYS = {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway",
            "complexGateway"}
SUBPROCESSES = {"subProcess", "transaction", "adHocSubProcess"}
ACTIVITIES = {"task", "userTask", "serviceTask", "scriptTask", "businessRuleTask", "sendTask",
              "receiveTask", "manualTask", "callActivity", *SUBPROCESSES}
FLOW_NODES = EVENTS | GATEWAYS | ACTIVITIES
#: Children that precede bpmn:incoming/outgoing in a flow node (tBaseElement, tFlowElement).
HEAD = {"documentation", "extensionElements", "auditing", "monitoring", "categoryValueRef"}

COL, ROW = 170, 120        # column pitch, sub-row pitch
BAND = 30                  # label band of a pool and of each lane
BOUNDARY_ROOM = 40         # extra height of a sub-row whose tasks carry boundary events
LOOP_ROOM = 15             # extra band height per loop routed below the band
PAD = 20                   # under a band's last sub-row, for flows passing below
POOL_GAP = 60
ORIGIN = (160.0, 80.0)
LABEL_W = 90
SHIFTS = (0, 15, -15)    # offsets tried for a vertical run between two columns

#: '/>' closing an empty tag, outside CDATA and comments: Camunda Modeler writes ' />'.
EMPTY_TAG = re.compile(r"<!\[CDATA\[.*?\]\]>|<!--.*?-->|(?<! )/>", re.S)

Point = tuple[float, float]


def q(tag: str) -> str:
    return f"{{{BPMN}}}{tag}"


def local(el: etree._Element) -> str:
    """The BPMN local name of an element, '' for comments and foreign elements."""
    if not isinstance(el.tag, str) or etree.QName(el).namespace != BPMN:
        return ""
    return etree.QName(el).localname


@dataclass
class Box:
    """A rectangle in diagram coordinates (y grows downwards), as dc:Bounds."""

    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    def crosses(self, a: Point, b: Point, margin: float = 4) -> bool:
        """Whether the axis-parallel segment a-b passes through this box (grown by margin)."""
        return (min(a[0], b[0]) < self.right + margin and max(a[0], b[0]) > self.x - margin
                and min(a[1], b[1]) < self.bottom + margin and max(a[1], b[1]) > self.y - margin)

    def overlaps(self, other: Box) -> bool:
        return self.crosses((other.x, other.y), (other.right, other.bottom), 0)


@dataclass
class Graph:
    """The flow nodes and sequence flows of one process or subprocess, in document order."""

    kind: dict[str, str] = field(default_factory=dict)
    name: dict[str, str] = field(default_factory=dict)
    host: dict[str, str] = field(default_factory=dict)   # boundary event -> its activity
    flows: list[tuple[str, str, str]] = field(default_factory=list)

    def anchor(self, node: str) -> str:
        """The node that stands for it in the grid: boundary events ride on their host."""
        return self.host.get(node, node)


def read_graph(container: etree._Element) -> Graph:
    """The direct children of container; flows to or from elsewhere are left out."""
    g = Graph()
    for el in container:
        kind, eid = local(el), el.get("id", "")
        if kind in FLOW_NODES:
            g.kind[eid], g.name[eid] = kind, el.get("name", "")
            if kind == "boundaryEvent":
                g.host[eid] = el.get("attachedToRef", "")
        elif kind == "sequenceFlow":
            g.name[eid] = el.get("name", "")
            g.flows.append((eid, el.get("sourceRef", ""), el.get("targetRef", "")))
    g.host = {b: h for b, h in g.host.items() if h in g.kind}
    g.kind = {n: k for n, k in g.kind.items() if k != "boundaryEvent" or n in g.host}
    g.flows = [f for f in g.flows if f[1] in g.kind and f[2] in g.kind and f[2] not in g.host]
    return g


def add_references(container: etree._Element, g: Graph) -> None:
    """Write the bpmn:incoming/outgoing references bpmn-js and Camunda Modeler expect."""
    refs: dict[tuple[str, str], list[str]] = defaultdict(list)
    for fid, source, target in g.flows:
        refs[("outgoing", source)].append(fid)
        refs[("incoming", target)].append(fid)
    for el in container:
        if local(el) not in FLOW_NODES:
            continue
        for kind in ("incoming", "outgoing"):
            have = [(r.text or "").strip() for r in el.findall(q(kind))]
            for r in el.findall(q(kind)):
                el.remove(r)
            pos = max((i + 1 for i, c in enumerate(el) if local(c) in HEAD | {"incoming"}),
                      default=0)
            wanted = have + [f for f in refs[(kind, el.get("id", ""))] if f not in have]
            for i, fid in enumerate(wanted):
                ref = etree.Element(q(kind))
                ref.text = fid
                el.insert(pos + i, ref)


def back_edges(g: Graph) -> set[str]:
    """Flows closing a cycle, found by depth-first search from the start events."""
    out: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for fid, source, target in g.flows:
        out[g.anchor(source)].append((fid, target))
    targets = {t for _, _, t in g.flows}
    roots = [n for n, k in g.kind.items() if k == "startEvent"]
    roots += [n for n in g.kind if n not in targets] + list(g.kind)
    state: dict[str, int] = {}            # 1: on the stack, 2: done
    back: set[str] = set()
    for root in (r for r in roots if r not in g.host):
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(out[root]))]
        while stack:
            node, todo = stack[-1]
            for fid, target in todo:
                if state.get(target) == 1:
                    back.add(fid)
                elif target not in state:
                    state[target] = 1
                    stack.append((target, iter(out[target])))
                    break
            else:
                state[node] = 2
                stack.pop()
    return back


def columns(g: Graph, back: set[str]) -> dict[str, int]:
    """Longest path from the sources over forward flows; boundary targets follow the host."""
    col = {n: 0 for n in g.kind if n not in g.host}
    succ: dict[str, list[str]] = defaultdict(list)
    indegree = dict.fromkeys(col, 0)
    for fid, source, target in g.flows:
        if fid not in back:
            succ[g.anchor(source)].append(target)
            indegree[target] += 1
    ready = [n for n, d in indegree.items() if d == 0]
    while ready:
        node = ready.pop(0)
        for target in succ[node]:
            col[target] = max(col[target], col[node] + 1)
            indegree[target] -= 1
            if indegree[target] == 0:
                ready.append(target)
    return col | {b: col[h] for b, h in g.host.items()}


def assign_rows(g: Graph, back: set[str], col: dict[str, int],
                band_of: dict[str, str | None]) -> dict[str, int]:
    """Sub-rows within each lane: a node keeps its predecessors' row where it is free."""
    preds: dict[str, list[str]] = defaultdict(list)
    for fid, source, target in g.flows:
        if fid not in back:
            preds[target].append(source)
    rows: dict[str, int] = {}

    def preferred(node: str) -> float:
        own = [rows[g.anchor(p)] + (p in g.host) for p in preds[node]
               if band_of[g.anchor(p)] == band_of[node]]
        return sum(own) / len(own) if own else 0.0

    cells: dict[tuple[int, str | None], list[str]] = defaultdict(list)
    for n in g.kind:
        if n not in g.host:
            cells[(col[n], band_of[n])].append(n)
    order = {n: i for i, n in enumerate(g.kind)}
    for cell in sorted(cells, key=lambda c: c[0]):
        taken: set[int] = set()
        for node in sorted(cells[cell], key=lambda n: (preferred(n), order[n])):
            want = round(preferred(node))
            rows[node] = next(r for d in count() for r in (want + d, want - d)
                              if r >= 0 and r not in taken)
            taken.add(rows[node])
    return rows


def size(kind: str) -> tuple[float, float]:
    """Camunda Modeler's default sizes, so a laid-out model looks like a drawn one."""
    if kind in EVENTS:
        return 36, 36
    return (50, 50) if kind in GATEWAYS else (100, 80)


def label_size(text: str) -> tuple[float, float]:
    """Roughly what bpmn-js needs for 11 px text wrapped at 90 px."""
    width = len(text) * 6.2
    lines = max(1, math.ceil(width / (LABEL_W - 6)))
    return min(LABEL_W, width + 6), 13 * lines + 1


def simplify(points: list[Point]) -> list[Point]:
    """Drop repeated points and the middle one of three on a line."""
    out: list[Point] = []
    for p in points:
        if out and p == out[-1]:
            continue
        if len(out) >= 2 and (out[-2][0] == out[-1][0] == p[0] or out[-2][1] == out[-1][1] == p[1]):
            out.pop()
        out.append(p)
    return out


def hits(route: list[Point], obstacles: list[Box]) -> int:
    """How many (segment, shape) pairs cross."""
    return sum(box.crosses(a, b) for box in obstacles for a, b in pairwise(route))


def meet(segment: tuple[Point, Point], route: list[Point]) -> float:
    """How badly a segment meets a drawn route: 1 per crossing, a tenth per shared pixel."""
    (a, b), bad = segment, 0.0
    for c, d in pairwise(route):
        if (a[0] == b[0]) == (c[0] == d[0]):
            fixed = 0 if a[0] == b[0] else 1
            if a[fixed] == c[fixed]:
                run = 1 - fixed
                shared = (min(max(a[run], b[run]), max(c[run], d[run]))
                          - max(min(a[run], b[run]), min(c[run], d[run])))
                bad += max(shared, 0) / 10
            continue
        (h0, h1), (v0, v1) = ((a, b), (c, d)) if a[1] == b[1] else ((c, d), (a, b))
        bad += (min(h0[0], h1[0]) < v0[0] < max(h0[0], h1[0])
                and min(v0[1], v1[1]) < h0[1] < max(v0[1], v1[1]))
    return bad


def cost(route: list[Point], obstacles: list[Box],
         others: list[tuple[list[Point], Point | None]]) -> float:
    """Shapes crossed weigh most; then crossings and overlaps with routes already drawn,
    except a shared first stretch out of the same point (a fan)."""
    bad = 50.0 * hits(route, obstacles)
    for other, fan in others:
        own = list(pairwise(route))[1 if fan == route[0] else 0:]
        bad += sum(meet(s, other) for s in own)
    return bad


@dataclass
class Plane:
    """What one BPMNPlane draws: shapes (in order), their extra attributes, labels, edges."""

    element: str
    shapes: dict[str, Box] = field(default_factory=dict)
    attrs: dict[str, dict[str, str]] = field(default_factory=dict)
    labels: dict[str, Box] = field(default_factory=dict)
    edges: dict[str, list[Point]] = field(default_factory=dict)
    wanted: list[tuple[str, list[Box]]] = field(default_factory=list)   # label spots

    def add(self, element: str, box: Box, **attrs: str) -> Box:
        self.shapes[element], self.attrs[element] = box, attrs
        return box

    def place_labels(self) -> None:
        """Put each label where it covers the fewest shapes, labels, edges and lane borders."""
        bands = [b for e, b in self.shapes.items() if self.attrs[e].get("isHorizontal")]
        taken = [b for e, b in self.shapes.items() if not self.attrs[e].get("isHorizontal")]
        segments = [s for route in self.edges.values() for s in pairwise(route)]
        segments += [((b.x, y), (b.right, y)) for b in bands for y in (b.y, b.bottom)]

        def clash(box: Box) -> int:
            return (sum(box.overlaps(t) for t in taken)
                    + sum(box.crosses(a, b, 0) for a, b in segments))

        for element, spots in self.wanted:
            self.labels[element] = min(spots, key=clash)
            taken.append(self.labels[element])


@dataclass
class Flow:
    """The layout of one process or subprocess placed at (left, top) of its plane."""

    g: Graph
    bands: list[str | None]
    band_of: dict[str, str | None]
    left: float
    back: set[str] = field(default_factory=set)
    col: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    row_end: dict[str, float] = field(default_factory=dict)   # y where a node's sub-row ends
    loop_y: dict[str, float] = field(default_factory=dict)    # back edge -> its channel
    channels: list[float] = field(default_factory=list)       # free horizontal lines
    boxes: dict[str, Box] = field(default_factory=dict)
    edges: dict[str, list[Point]] = field(default_factory=dict)

    def x(self, col: int) -> float:
        return self.left + 70 + col * COL

    def place_bands(self, top: float) -> dict[str | None, tuple[float, float]]:
        """Stack the lanes' sub-rows; return each band's (y, height)."""
        g, hosts = self.g, set(self.g.host.values())
        nrows: dict[str | None, int] = defaultdict(int)
        room: dict[tuple[str | None, int], int] = defaultdict(int)
        for n, r in self.rows.items():
            nrows[self.band_of[n]] = max(nrows[self.band_of[n]], r + 1)
            if n in hosts:
                room[(self.band_of[n], r)] = BOUNDARY_ROOM
        loops: dict[str | None, list[str]] = defaultdict(list)
        for fid, source, target in g.flows:
            if fid in self.back:
                ends = (self.band_of[g.anchor(source)], self.band_of[target])
                loops[max(ends, key=self.bands.index)].append(fid)
        extents, y, row_top = {}, top, {}
        for band in self.bands:
            start = y
            for r in range(nrows[band]):
                row_top[(band, r)] = y
                y += ROW + room[(band, r)]
                self.channels.append(y if r < nrows[band] - 1 else y + PAD / 2)
            y += PAD if nrows[band] else ROW
            for j, fid in enumerate(loops[band]):
                self.loop_y[fid] = y + 5 + LOOP_ROOM * j
            y += LOOP_ROOM * len(loops[band])
            extents[band] = (start, y - start)
        for n, r in self.rows.items():
            b = self.band_of[n]
            self.row_end[n] = row_top[(b, r)] + ROW + room[(b, r)]
            w, h = size(g.kind[n])
            self.boxes[n] = Box(self.x(self.col[n]) - w / 2, row_top[(b, r)] + (ROW - h) / 2, w, h)
        return extents

    def place_boundaries(self) -> None:
        """Spread boundary events along their host's bottom, lowest target leftmost."""
        riders: dict[str, list[str]] = defaultdict(list)
        for b, h in self.g.host.items():
            riders[h].append(b)

        def target_y(event: str) -> float:
            return max((self.boxes[t].cy for _, s, t in self.g.flows if s == event), default=0)

        for host, events in riders.items():
            events.sort(key=lambda e: -target_y(e))
            box, step = self.boxes[host], 40     # may overhang the task: better than overlap
            for i, event in enumerate(events):
                cx = box.cx + (i - (len(events) - 1) / 2) * step
                self.boxes[event] = Box(cx - 18, box.bottom - 18, 36, 36)

    def forward_routes(self, source: str, target: str) -> list[list[Point]]:
        """Candidates, best first: straight, gateway corner, via a gap, round a channel."""
        a, b = self.boxes[source], self.boxes[target]
        start, end = (a.right, a.cy), (b.x, b.cy)
        routes = [[start, end]] if a.cy == b.cy else []
        outs = sum(s == source for _, s, _ in self.g.flows)
        ins = sum(t == target for _, _, t in self.g.flows)
        splits = self.g.kind[source] in GATEWAYS and outs > 1
        if a.cy != b.cy and splits:
            routes.append([(a.cx, a.y if b.cy < a.cy else a.bottom), (a.cx, b.cy), end])
        if a.cy != b.cy and self.g.kind[target] in GATEWAYS and ins > 1:
            routes.append([start, (b.cx, a.cy), (b.cx, b.y if a.cy < b.cy else b.bottom)])
        gaps_a = [self.x(self.col[source]) + COL / 2 + d for d in SHIFTS]
        gaps_b = [self.x(self.col[target]) - COL / 2 + d for d in SHIFTS]
        routes += [[start, (gap, a.cy), (gap, b.cy), end] for gap in (*gaps_a, *gaps_b)]
        channels = sorted(self.channels, key=lambda y: abs(y - a.cy))
        if splits:        # round what lies between, leaving by the top or bottom corner
            routes += [[(a.cx, a.y if y < a.cy else a.bottom), (a.cx, y), (gb, y), (gb, b.cy), end]
                       for y in channels for gb in gaps_b]
        routes += [[start, (ga, a.cy), (ga, y), (gb, y), (gb, b.cy), end]
                   for y in channels for ga in gaps_a for gb in gaps_b]
        return routes

    def boundary_routes(self, event: str, target: str) -> list[list[Point]]:
        """Down from the event, then right: straight if the target lies lower, else round."""
        e, b = self.boxes[event], self.boxes[target]
        start, end = (e.cx, e.bottom), (b.x, b.cy)
        gaps = [self.x(self.col[target]) - COL / 2 + d for d in SHIFTS]
        routes = [[start, (e.cx, b.cy), end]] if b.cy > e.bottom + 10 else []
        below = sorted(y for y in self.channels if y > e.bottom + 5)
        return routes + [[start, (e.cx, y), (gap, y), (gap, b.cy), end]
                         for y in below or [e.bottom + 20] for gap in gaps]

    def bottom_x(self, node: str, avoid: float | None = None) -> float:
        """Where a loop may meet node's bottom: clear of its boundary events and of avoid."""
        box = self.boxes[node]
        if node in self.g.host:
            return box.cx
        taken = [self.boxes[e].cx for e, h in self.g.host.items() if h == node] + [avoid or -1e9]
        spots = (box.cx, box.cx - 30, box.cx + 30, box.x + 8, box.right - 8)
        return next((x for x in spots if all(abs(x - t) > 22 for t in taken)), box.x + 4)

    def back_routes(self, fid: str, source: str, target: str) -> list[list[Point]]:
        """Loops leave downwards, run left below the lane(s) and come up into the target."""
        a, b, y = self.boxes[source], self.boxes[target], self.loop_y[fid]
        start = (self.bottom_x(source), a.bottom)
        end = (self.bottom_x(target, start[0]), b.bottom)
        below_a, below_b = self.row_end[self.g.anchor(source)], self.row_end[target]
        gap_a = self.x(self.col[source]) - COL / 2
        gap_b = self.x(self.col[target]) + COL / 2
        leave = [[start, (start[0], y)],      # straight down, or round what lies below
                 [start, (start[0], below_a), (gap_a, below_a), (gap_a, y)]]
        enter = [[(end[0], y), end], [(gap_b, y), (gap_b, below_b), (end[0], below_b), end]]
        routes = [head + tail for head in leave for tail in enter]
        if below_a > b.bottom:        # under the source's row, if that passes under the target
            routes.insert(1, [start, (start[0], below_a), (end[0], below_a), end])
        return routes

    def route(self) -> None:
        """Loops first, then boundary flows, then the rest: each avoids what is drawn."""
        def rank(flow: tuple[str, str, str]) -> int:
            return 0 if flow[0] in self.back else 1 if flow[1] in self.g.host else 2

        drawn: list[tuple[str, list[Point], Point | None]] = []
        for fid, source, target in sorted(self.g.flows, key=rank):
            if fid in self.back:
                routes = self.back_routes(fid, source, target)
            elif source in self.g.host:
                routes = self.boundary_routes(source, target)
            else:
                routes = self.forward_routes(source, target)
            skip = {source, target, self.g.anchor(source)}
            obstacles = [box for n, box in self.boxes.items() if n not in skip]
            others = [(r, fan) for t, r, fan in drawn if t != target]
            best, least = routes[0], math.inf
            for route in map(simplify, routes):      # the first flawless one, else the least bad
                bad = cost(route, obstacles, others)
                if bad < least:
                    best, least = route, bad
                if bad == 0:
                    break
            self.edges[fid] = best
            drawn.append((target, best, None if fid in self.back else best[0]))
        self.edges = {fid: self.edges[fid] for fid, _, _ in self.g.flows}

    def label_spots(self) -> list[tuple[str, list[Box]]]:
        """Where each label may go, best first: events and gateways, then named flows."""
        turns = {s: self.edges[f][1] for f, s, _ in self.g.flows
                 if s in self.g.host and len(self.edges[f]) > 2}
        wanted = [(n, node_label_spots(self.boxes[n], label_size(self.g.name[n])[1],
                                       kind == "boundaryEvent", turns.get(n)))
                  for n, kind in self.g.kind.items() if self.g.name[n] and kind not in ACTIVITIES]
        starts = Counter(route[0] for route in self.edges.values())
        return wanted + [(fid, flow_label_spots(self.edges[fid], *label_size(self.g.name[fid]),
                                                starts[self.edges[fid][0]] > 1))
                         for fid, _, _ in self.g.flows if self.g.name[fid]]


def node_label_spots(n: Box, h: float, boundary: bool, turn: Point | None) -> list[Box]:
    """Under the shape, else around it; a boundary event's beside its leg, else where its
    flow turns right (crowded tasks)."""
    w = LABEL_W
    under, above = Box(n.cx - w / 2, n.bottom + 5, w, h), Box(n.cx - w / 2, n.y - 5 - h, w, h)
    under_left, under_right = Box(n.cx - 6 - w, n.bottom + 3, w, h), Box(n.cx + 6, n.bottom + 3,
                                                                         w, h)
    above_left, above_right = Box(n.cx - 6 - w, n.y - 3 - h, w, h), Box(n.cx + 6, n.y - 3 - h, w, h)
    if boundary:
        at_turn = [Box(turn[0] + 6, turn[1] - h - 3, w, h)] if turn else []
        return [under_left, under_right, under, *at_turn]
    return [under, above, under_right, under_left, above_right, above_left]


def flow_label_spots(route: list[Point], w: float, h: float, shared: bool) -> list[Box]:
    """Beside the first segment, else the second; the second first if the first is shared."""
    spots: list[Box] = []
    segments = list(pairwise(route))[:2]
    for (x0, y0), (x1, y1) in segments[::-1] if shared else segments:
        if y0 == y1:
            mid = (x0 + x1) / 2
            spots += [Box(mid - w / 2, y0 - h - 4, w, h), Box(mid - w / 2, y0 + 4, w, h)]
        else:
            mid = (y0 + y1) / 2
            spots += [Box(x0 + 5, mid - h / 2, w, h), Box(x0 - 5 - w, mid - h / 2, w, h)]
    return spots


def draw_flow(plane: Plane, container: etree._Element, bands: list[str | None],
              member: dict[str, str], left: float, top: float,
              planes: list[Plane]) -> tuple[dict[str | None, tuple[float, float]], float]:
    """Lay out one container into plane; return its bands' (y, height) and its right edge."""
    g = read_graph(container)
    add_references(container, g)
    band_of = {n: member.get(g.anchor(n)) if member.get(g.anchor(n)) in bands else bands[0]
               for n in g.kind}
    flow = Flow(g, bands, band_of, left, back=back_edges(g))
    flow.col = columns(g, flow.back)
    flow.rows = assign_rows(g, flow.back, flow.col, band_of)
    extents = flow.place_bands(top)
    flow.place_boundaries()
    flow.route()
    plane.wanted += flow.label_spots()
    for n, kind in g.kind.items():         # in document order, for readable diffs
        attrs: dict[str, str] = {}
        if kind == "exclusiveGateway":
            attrs["isMarkerVisible"] = "true"
        if kind in SUBPROCESSES:
            attrs["isExpanded"] = "false"
            inner = Plane(n)
            planes.append(inner)
            draw_flow(inner, container.find(f"*[@id='{n}']"), [None], {}, *ORIGIN, planes)
        plane.add(n, flow.boxes[n], **attrs)
    plane.edges |= flow.edges
    return extents, flow.x(max(flow.col.values(), default=0)) + 130


def lanes(process: etree._Element) -> tuple[list[tuple[etree._Element, int]], dict[str, str]]:
    """Every lane with its nesting depth (depth first), and the innermost lane of each node."""
    found: list[tuple[etree._Element, int]] = []
    member: dict[str, str] = {}

    def walk(lane_set: etree._Element, depth: int) -> None:
        for lane in lane_set.findall(q("lane")):
            found.append((lane, depth))
            for ref in lane.findall(q("flowNodeRef")):
                member[(ref.text or "").strip()] = lane.get("id", "")
            for child in lane.findall(q("childLaneSet")):
                walk(child, depth + 1)

    for lane_set in process.findall(q("laneSet")):
        walk(lane_set, 0)
    return found, member


def draw_pool(plane: Plane, part: etree._Element, process: etree._Element | None, top: float,
              planes: list[Plane]) -> float:
    """Draw a participant with its lanes and flow; return the pool's bottom."""
    x0 = ORIGIN[0]
    pool = plane.add(part.get("id", ""), Box(x0, top, 600, 100), isHorizontal="true")
    if process is None:
        return pool.bottom
    found, member = lanes(process)
    boxes = [(lane, plane.add(lane.get("id", ""), Box(x0 + BAND * (1 + d), top, 0, 0),
                              isHorizontal="true")) for lane, d in found]
    leaves = [lane.get("id") for lane, _ in found if lane.find(f"{q('childLaneSet')}/{q('lane')}")
              is None]
    depth = max((d + 1 for _, d in found), default=0)
    extents, right = draw_flow(plane, process, leaves or [None], member,
                               x0 + BAND * (1 + depth), top, planes)
    pool.w, pool.h = max(right - x0, pool.w), sum(h for _, h in extents.values())
    for lane, box in boxes:
        spans = [extents[i] for i in (sub.get("id") for sub in lane.iter(q("lane")))
                 if i in extents]
        box.y, box.h = min(y for y, _ in spans), sum(h for _, h in spans)
    return pool.bottom


def draw_message_flows(plane: Plane, collaboration: etree._Element) -> None:
    """Vertical dashes between pools, with one jog when the ends are not aligned."""
    for flow in collaboration.findall(q("messageFlow")):
        a, b = plane.shapes.get(flow.get("sourceRef")), plane.shapes.get(flow.get("targetRef"))
        if a is None or b is None:
            continue
        pool_a, pool_b = (plane.attrs[flow.get(r, "")].get("isHorizontal")
                          for r in ("sourceRef", "targetRef"))
        ax = b.cx if pool_a else a.cx        # a pool: meet the other end straight
        bx = ax if pool_b else b.cx
        ay, by = (a.bottom, b.y) if a.cy < b.cy else (a.y, b.bottom)
        mid = (ay + by) / 2
        plane.edges[flow.get("id", "")] = simplify([(ax, ay), (ax, mid), (bx, mid), (bx, by)])


def unique_id(root: etree._Element, base: str) -> str:
    """base, or base_1, base_2... if a model element already uses it."""
    ids = set(root.xpath("//@id"))
    return next(c for c in (base if i == 0 else f"{base}_{i}" for i in count()) if c not in ids)


def ensure_participants(root: etree._Element) -> etree._Element:
    """Give every process a participant in a collaboration, as Camunda Modeler does."""
    processes = root.findall(q("process"))
    collaboration = root.find(q("collaboration"))
    if collaboration is None:
        collaboration = etree.Element(q("collaboration"), id=unique_id(root, "Collaboration_1"))
        processes[0].addprevious(collaboration)
    referenced = {p.get("processRef") for p in collaboration.findall(q("participant"))}
    for process in processes:
        pid = process.get("id", "")
        if pid in referenced:
            continue
        part = etree.Element(q("participant"), id=unique_id(root, f"Participant_{pid}"))
        if process.get("name"):
            part.set("name", process.get("name", ""))
        part.set("processRef", pid)
        before = HEAD | {"participant"}
        collaboration.insert(max((i + 1 for i, c in enumerate(collaboration)
                                  if local(c) in before), default=0), part)
    return collaboration


def diagram(plane: Plane, suffix: str) -> etree._Element:
    """The bpmndi:BPMNDiagram of a plane, with ids as Camunda Modeler makes them."""

    def tag(ns: str, name: str) -> str:
        return f"{{{ns}}}{name}"

    def bounds(parent: etree._Element, box: Box) -> None:
        etree.SubElement(parent, tag(DC, "Bounds"), x=num(box.x), y=num(box.y),
                         width=num(box.w), height=num(box.h))

    result = etree.Element(tag(BPMNDI, "BPMNDiagram"), id=f"BPMNDiagram_{suffix}")
    drawing = etree.SubElement(result, tag(BPMNDI, "BPMNPlane"), id=f"BPMNPlane_{suffix}",
                               bpmnElement=plane.element)
    for element, box in plane.shapes.items():
        shape = etree.SubElement(drawing, tag(BPMNDI, "BPMNShape"), id=f"{element}_di",
                                 bpmnElement=element, **plane.attrs[element])
        bounds(shape, box)
        if element in plane.labels:
            bounds(etree.SubElement(shape, tag(BPMNDI, "BPMNLabel")), plane.labels[element])
    for element, route in plane.edges.items():
        edge = etree.SubElement(drawing, tag(BPMNDI, "BPMNEdge"), id=f"{element}_di",
                                bpmnElement=element)
        for x, y in route:
            etree.SubElement(edge, tag(DI, "waypoint"), x=num(x), y=num(y))
        if element in plane.labels:
            bounds(etree.SubElement(edge, tag(BPMNDI, "BPMNLabel")), plane.labels[element])
    return result


def num(value: float) -> str:
    return str(round(value))


def with_di_namespaces(tree: etree._ElementTree) -> etree._Element:
    """Declare the DI prefixes on the root, where modelers put them."""
    root = tree.getroot()
    missing = {p: u for p, u in DI_NSMAP.items()
               if u not in root.nsmap.values() and p not in root.nsmap}
    if not missing:
        return root
    new = etree.Element(root.tag, nsmap={**root.nsmap, **missing})
    for key, value in root.attrib.items():
        new.set(key, value)
    new.text = root.text
    new.extend(list(root))
    tree._setroot(new)
    return new


def lay_out(tree: etree._ElementTree) -> None:
    """Replace the DI of a parsed model: one stacked pool per participant."""
    root = with_di_namespaces(tree)
    for old in root.findall(f"{{{BPMNDI}}}BPMNDiagram"):
        root.remove(old)
    if root.find(q("process")) is None:
        raise ValueError("no bpmn:process to lay out")
    collaboration = ensure_participants(root)
    processes = {p.get("id"): p for p in root.findall(q("process"))}
    main, planes = Plane(collaboration.get("id", "")), []
    top = ORIGIN[1]
    for part in collaboration.findall(q("participant")):
        process = processes.get(part.get("processRef"))
        top = draw_pool(main, part, process, top, planes) + POOL_GAP
    pools = [main.shapes[p.get("id", "")] for p in collaboration.findall(q("participant"))]
    right = max(p.right for p in pools)
    for element, box in main.shapes.items():
        if main.attrs[element].get("isHorizontal"):
            box.w = right - box.x
    draw_message_flows(main, collaboration)
    for plane in (main, *planes):
        plane.place_labels()
    diagrams = [diagram(main, "1")] + [diagram(p, p.element) for p in planes]
    anchor = root.find(q("relationship"))
    for d in diagrams:
        if anchor is None:
            root.append(d)
        else:
            anchor.addprevious(d)
    etree.indent(tree, space="  ")


def lay_out_file(path: Path) -> None:
    """Rewrite a file in place, keeping CDATA and leading comments, in Camunda's style."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             strip_cdata=False)
    tree = etree.parse(str(path), parser)
    prolog = [etree.tostring(node, encoding="unicode", with_tail=False)
              for node in reversed(list(tree.getroot().itersiblings(preceding=True)))]
    lay_out(tree)
    text = EMPTY_TAG.sub(lambda m: m[0] if m[0].startswith("<!") else " />",
                         etree.tostring(tree.getroot(), encoding="unicode"))
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', *prolog, text, ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    failed = False
    for name in argv:
        try:
            lay_out_file(Path(name))
        except (OSError, ValueError, etree.XMLSyntaxError) as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            failed = True
        else:
            print(f"laid out {name}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
