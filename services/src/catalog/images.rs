//! Product and category images drawn as SVG from their file name, so the demo catalog
//! needs no image files and no downloads. `mug-navy-2.svg` is a navy mug on the second
//! background. Unknown names are `None` (a 404).

/// Colour keys with their main, dark and light shades.
pub const COLOURS: &[(&str, &str, &str, &str)] = &[
    ("black", "#2b2b2b", "#0f0f0f", "#5a5a5a"),
    ("white", "#f7f6f3", "#cfcac2", "#ffffff"),
    ("navy", "#1e3a8a", "#132560", "#4466cc"),
    ("red", "#b91c1c", "#7a1414", "#e65050"),
    ("forest", "#166534", "#0e4222", "#2f9e57"),
    ("sand", "#d6c7a1", "#a8966a", "#ece3cb"),
    ("grey", "#6b7280", "#3f4550", "#a2a8b3"),
    ("ochre", "#ca8a04", "#8a5d06", "#f0bd3c"),
    ("sky", "#0ea5e9", "#0a6f9f", "#74cdf5"),
    ("plum", "#7e22ce", "#55168c", "#b27ae6"),
    ("coral", "#f97316", "#bd4f0b", "#fcac77"),
    ("olive", "#65a30d", "#416b08", "#9fd451"),
];

const BACKGROUNDS: [(&str, &str); 3] = [
    ("#f5f1e9", "#e6dfd1"),
    ("#eef2f7", "#dbe3ee"),
    ("#f8efe7", "#eedccb"),
];

/// Draws one icon with `m` (main), `d` (dark) and `l` (light) colours.
fn icon(name: &str, m: &str, d: &str, l: &str) -> Option<String> {
    let s = match name {
        "shirt" => format!(
            r#"<path d="M140 92 L176 74 Q200 96 224 74 L260 92 L312 142 L282 174 L262 158 L262 322 L138 322 L138 158 L118 174 L88 142 Z" fill="{m}" stroke="{d}" stroke-width="3"/>
<path d="M176 74 Q200 110 224 74" fill="none" stroke="{d}" stroke-width="5"/><rect x="220" y="150" width="26" height="30" rx="3" fill="{d}" opacity=".35"/>"#
        ),
        "hoodie" => format!(
            r#"<path d="M136 122 L170 100 L230 100 L264 122 L310 206 L284 220 L264 184 L264 322 L136 322 L136 184 L116 220 L90 206 Z" fill="{m}" stroke="{d}" stroke-width="3"/>
<path d="M164 108 Q200 44 236 108 Q200 134 164 108 Z" fill="{d}"/><path d="M160 250 L240 250 L250 300 L150 300 Z" fill="{d}" opacity=".4"/>
<path d="M188 120 L186 175 M212 120 L214 175" stroke="{l}" stroke-width="4" stroke-linecap="round"/>"#
        ),
        "jacket" => format!(
            r#"<path d="M136 96 L176 80 L224 80 L264 96 L306 300 L276 306 L262 190 L262 326 L138 326 L138 190 L124 306 L94 300 Z" fill="{m}" stroke="{d}" stroke-width="3"/>
<path d="M176 80 L200 122 L224 80 L214 72 L186 72 Z" fill="{d}"/><path d="M200 122 L200 326" stroke="{l}" stroke-width="4"/>
<rect x="150" y="230" width="34" height="8" rx="3" fill="{d}"/><rect x="216" y="230" width="34" height="8" rx="3" fill="{d}"/>"#
        ),
        "sneaker" => format!(
            r#"<path d="M78 262 Q82 188 128 190 L172 206 Q192 172 222 178 L302 224 Q336 238 332 268 L332 280 L78 280 Z" fill="{m}" stroke="{d}" stroke-width="3"/>
<rect x="72" y="272" width="266" height="22" rx="11" fill="{d}"/><path d="M190 196 L214 214 M202 188 L228 206 M178 204 L200 222" stroke="{l}" stroke-width="5" stroke-linecap="round"/>
<path d="M100 250 Q160 236 250 250" stroke="{l}" stroke-width="4" fill="none"/>"#
        ),
        "boot" => format!(
            r#"<path d="M142 108 L222 108 L226 228 Q302 232 316 266 L316 290 L136 290 Z" fill="{m}" stroke="{d}" stroke-width="3"/>
<rect x="130" y="284" width="192" height="20" rx="6" fill="{d}"/><rect x="172" y="92" width="22" height="30" rx="6" fill="{d}"/>
<path d="M150 200 L224 200" stroke="{l}" stroke-width="4"/>"#
        ),
        "mug" => format!(
            r#"<path d="M262 170 Q316 170 316 220 Q316 268 262 268" fill="none" stroke="{m}" stroke-width="22"/>
<rect x="118" y="128" width="152" height="184" rx="18" fill="{m}" stroke="{d}" stroke-width="3"/>
<rect x="118" y="128" width="152" height="20" rx="10" fill="{d}" opacity=".5"/><path d="M160 104 Q150 86 162 68 M196 104 Q186 86 198 68 M232 104 Q222 86 234 68" stroke="{d}" stroke-width="5" fill="none" stroke-linecap="round" opacity=".45"/>"#
        ),
        "lamp" => format!(
            r#"<path d="M148 88 L252 88 L288 184 L112 184 Z" fill="{m}" stroke="{d}" stroke-width="3"/>
<rect x="194" y="184" width="12" height="118" fill="{d}"/><ellipse cx="200" cy="308" rx="70" ry="14" fill="{d}"/>
<path d="M148 88 L252 88" stroke="{l}" stroke-width="6"/>"#
        ),
        "cushion" => format!(
            r#"<path d="M108 118 Q200 96 292 118 Q314 200 292 292 Q200 314 108 292 Q86 200 108 118 Z" fill="{m}" stroke="{d}" stroke-width="3"/>
<circle cx="200" cy="205" r="10" fill="{d}"/><path d="M108 118 L200 205 L292 118 M108 292 L200 205 L292 292" stroke="{d}" stroke-width="2" opacity=".35"/>"#
        ),
        "headphones" => format!(
            r#"<path d="M118 236 Q118 96 200 96 Q282 96 282 236" fill="none" stroke="{m}" stroke-width="24" stroke-linecap="round"/>
<rect x="92" y="206" width="56" height="100" rx="22" fill="{d}"/><rect x="252" y="206" width="56" height="100" rx="22" fill="{d}"/>
<rect x="104" y="222" width="32" height="68" rx="14" fill="{l}"/><rect x="264" y="222" width="32" height="68" rx="14" fill="{l}"/>"#
        ),
        "speaker" => format!(
            r#"<rect x="128" y="78" width="144" height="244" rx="22" fill="{m}" stroke="{d}" stroke-width="3"/>
<circle cx="200" cy="242" r="52" fill="{d}"/><circle cx="200" cy="242" r="20" fill="{l}"/><circle cx="200" cy="140" r="22" fill="{d}"/><circle cx="200" cy="140" r="8" fill="{l}"/>"#
        ),
        "charger" => format!(
            r#"<rect x="170" y="92" width="14" height="40" rx="3" fill="{d}"/><rect x="216" y="92" width="14" height="40" rx="3" fill="{d}"/>
<rect x="140" y="128" width="120" height="132" rx="20" fill="{m}" stroke="{d}" stroke-width="3"/>
<path d="M208 150 L182 200 L204 200 L194 240 L226 186 L204 186 L214 150 Z" fill="{l}"/><path d="M200 260 Q200 320 260 318" stroke="{d}" stroke-width="9" fill="none" stroke-linecap="round"/>"#
        ),
        "backpack" => format!(
            r#"<path d="M160 96 Q160 62 200 62 Q240 62 240 96" fill="none" stroke="{d}" stroke-width="10"/>
<path d="M128 122 Q128 84 200 84 Q272 84 272 122 L278 318 Q200 336 122 318 Z" fill="{m}" stroke="{d}" stroke-width="3"/>
<rect x="152" y="214" width="96" height="76" rx="14" fill="{d}" opacity=".55"/><path d="M152 150 L248 150" stroke="{l}" stroke-width="5"/>"#
        ),
        "bottle" => format!(
            r#"<rect x="174" y="58" width="52" height="42" rx="8" fill="{d}"/><rect x="184" y="96" width="32" height="22" fill="{d}"/>
<rect x="148" y="112" width="104" height="212" rx="40" fill="{m}" stroke="{d}" stroke-width="3"/>
<rect x="148" y="188" width="104" height="54" fill="{l}" opacity=".7"/>"#
        ),
        "tent" => format!(
            r#"<path d="M200 86 L332 312 L68 312 Z" fill="{m}" stroke="{d}" stroke-width="3"/>
<path d="M200 168 L246 312 L154 312 Z" fill="{d}"/><path d="M200 86 L200 62 M52 318 L348 318" stroke="{d}" stroke-width="5" stroke-linecap="round"/>"#
        ),
        "notebook" => format!(
            r#"<rect x="126" y="78" width="156" height="244" rx="10" fill="{m}" stroke="{d}" stroke-width="3"/>
<rect x="126" y="78" width="24" height="244" rx="6" fill="{d}"/><rect x="252" y="78" width="10" height="244" fill="{d}" opacity=".7"/>
<rect x="170" y="128" width="66" height="38" rx="4" fill="{l}"/>"#
        ),
        "pen" => format!(
            r#"<g transform="rotate(-35 200 200)"><rect x="184" y="70" width="32" height="210" rx="14" fill="{m}" stroke="{d}" stroke-width="3"/>
<path d="M184 280 L216 280 L200 330 Z" fill="{d}"/><rect x="212" y="86" width="8" height="90" rx="4" fill="{l}"/></g>"#
        ),
        _ => return None,
    };
    Some(s)
}

/// Renders `"{icon}-{colour}-{style}.svg"`, or `None` for a name that is not an image.
pub fn render_path(file: &str) -> Option<String> {
    let stem = file.strip_suffix(".svg")?;
    let mut parts = stem.split('-');
    let (icon_name, colour, style) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let style: usize = style.parse().ok().filter(|s| (1..=3).contains(s))?;
    let &(_, m, d, l) = COLOURS.iter().find(|c| c.0 == colour)?;
    let shape = icon(icon_name, m, d, l)?;
    let (bg_a, bg_b) = BACKGROUNDS[style - 1];
    // Style 2 is a close-up, as a second gallery image would be.
    let transform = if style == 2 {
        r#" transform="translate(-60 -50) scale(1.3)""#
    } else {
        ""
    };
    Some(format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 400" width="800" height="800" role="img">
<defs><linearGradient id="bg" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="{bg_a}"/><stop offset="1" stop-color="{bg_b}"/></linearGradient></defs>
<rect width="400" height="400" fill="url(#bg)"/><ellipse cx="200" cy="338" rx="120" ry="12" fill="#000" opacity=".07"/>
<g{transform}>{shape}</g></svg>"##
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_known_names_only() {
        let svg = render_path("mug-navy-2.svg").expect("a mug");
        assert!(svg.starts_with("<svg") && svg.contains("#1e3a8a"));
        for bad in [
            "mug-navy-4.svg",
            "mug-teal-1.svg",
            "cat-navy-1.svg",
            "mug-navy-1.png",
            "mug-navy-1-x.svg",
            "../etc/passwd",
        ] {
            assert!(render_path(bad).is_none(), "{bad}");
        }
    }
}
