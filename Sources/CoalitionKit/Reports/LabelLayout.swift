import Foundation

/// The text labels of one SVG figure, placed so that no two overlap and the picture's
/// view box holds them all.
///
/// A label's box is estimated from its text: every character is taken as
/// `characterWidth` em wide (wider than the digits and bold capitals of a sans-serif face)
/// and the line as `lineHeight` em tall, from `ascent` em above the baseline. Each label is
/// put at the first of its candidate places whose box meets no label placed before it and
/// no obstacle; if every candidate is taken, at the nearest free place on a spiral around
/// the first one, joined to it by a thin leader line. Drawing only: no amount is computed
/// here.
struct LabelLayout {
    static let characterWidth = 0.75
    static let lineHeight = 1.25
    static let ascent = 1.0

    enum Anchor: String {
        case start, middle, end
    }

    struct Box {
        var x: Double
        var y: Double
        var width: Double
        var height: Double

        func intersects(_ other: Box) -> Bool {
            x < other.x + other.width && other.x < x + width && y < other.y + other.height && other.y < y + height
        }

        func union(_ other: Box) -> Box {
            let left = min(x, other.x)
            let top = min(y, other.y)
            return Box(
                x: left,
                y: top,
                width: max(x + width, other.x + other.width) - left,
                height: max(y + height, other.y + other.height) - top
            )
        }
    }

    /// The box of `text` drawn at `x` and baseline `y`.
    static func box(_ text: String, x: Double, y: Double, size: Double, anchor: Anchor) -> Box {
        let width = Double(text.count) * size * characterWidth
        let left =
            switch anchor {
            case .start: x
            case .middle: x - width / 2
            case .end: x - width
            }
        return Box(x: left, y: y - size * ascent, width: width, height: size * lineHeight)
    }

    private(set) var labels: [Box] = []
    /// Shapes labels keep clear of (nodes); they count in the bounds.
    var obstacles: [Box] = []
    /// Shapes that count in the bounds only (bars, curves).
    var drawn: [Box] = []
    /// The `<text>` (and leader) elements, in the order placed.
    private(set) var svg = ""

    /// Whether `box`, with a pixel of room around it, meets no label and no obstacle.
    func isFree(_ box: Box) -> Bool {
        let roomy = Box(x: box.x - 1, y: box.y - 1, width: box.width + 2, height: box.height + 2)
        return !labels.contains { $0.intersects(roomy) } && !obstacles.contains { $0.intersects(roomy) }
    }

    /// Places `text` at the first free candidate `(x, baseline y)`; see the type's comment.
    mutating func place(
        _ text: String,
        size: Double,
        anchor: Anchor,
        className: String,
        candidates: [(Double, Double)],
        extra: String = ""
    ) {
        precondition(!candidates.isEmpty, "a label needs somewhere to go")
        var chosen: (Double, Double)? = candidates.first {
            isFree(Self.box(text, x: $0.0, y: $0.1, size: size, anchor: anchor))
        }
        var leader = false
        if chosen == nil {
            let (x0, y0) = candidates[0]
            var step = 1
            while chosen == nil {
                let radius = Double(step) * size * 0.8
                let turns = max(8, step * 4)
                for k in 0..<turns {
                    let angle = 2 * Double.pi * Double(k) / Double(turns)
                    let point = (x0 + radius * cos(angle) * 1.6, y0 + radius * sin(angle))
                    if isFree(Self.box(text, x: point.0, y: point.1, size: size, anchor: anchor)) {
                        chosen = point
                        break
                    }
                }
                step += 1
            }
            leader = true
        }
        let (x, y) = chosen!
        let box = Self.box(text, x: x, y: y, size: size, anchor: anchor)
        if leader {
            let (x0, y0) = candidates[0]
            svg += "<line x1=\"\(f(x0))\" y1=\"\(f(y0 - size * 0.35))\" x2=\"\(f(box.x + box.width / 2))\" "
            svg += "y2=\"\(f(box.y + box.height / 2))\" class=\"leader\"/>\n"
            drawn.append(Box(x: min(x0, box.x), y: min(y0 - size, box.y), width: 1, height: 1))
        }
        labels.append(box)
        svg += "<text x=\"\(f(x))\" y=\"\(f(y))\" font-size=\"\(f(size))\" text-anchor=\"\(anchor.rawValue)\" "
        svg += "class=\"\(className)\"\(extra)>\(CycleReport.escape(text))</text>\n"
    }

    /// Everything placed or drawn, with `margin` around it: the figure's view box.
    func bounds(margin: Double) -> Box {
        let all = labels + obstacles + drawn
        guard var box = all.first else { return Box(x: 0, y: 0, width: 2 * margin, height: 2 * margin) }
        for other in all.dropFirst() { box = box.union(other) }
        return Box(
            x: (box.x - margin).rounded(.down),
            y: (box.y - margin).rounded(.down),
            width: (box.width + 2 * margin).rounded(.up) + 1,
            height: (box.height + 2 * margin).rounded(.up) + 1
        )
    }

    /// `<svg …>` opening tag for a view box of `box`, drawn at its own size.
    static func svgOpening(_ box: Box) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(f(box.width))\" height=\"\(f(box.height))\" "
            + "viewBox=\"\(f(box.x)) \(f(box.y)) \(f(box.width)) \(f(box.height))\" role=\"img\">\n"
    }

    private static func f(_ value: Double) -> String { CycleReport.f(value) }
    private func f(_ value: Double) -> String { CycleReport.f(value) }
}
