//! The space-time diagram as one self-contained HTML page: the SVG inline, a few lines of CSS,
//! and a few lines of script for zoom (buttons, or Ctrl + wheel) and hover details (the hovered
//! message's, mark's or band's fields in a bar at the bottom). Nothing is fetched: the page
//! works from a file, offline.

use std::fmt::Write;

use super::diagram::{secs, SpaceTime};
use super::svg::{escape, render as svg};

const STYLE: &str = "body{margin:0;font-family:monospace;background:#fafafa}\
header{padding:6px 10px;background:#fff;border-bottom:1px solid #ccc;position:sticky;top:0}\
header button{font-family:monospace;margin-left:4px}\
#view{overflow:auto;height:calc(100vh - 84px)}\
#detail{position:fixed;bottom:0;left:0;right:0;padding:6px 10px;background:#222;color:#eee;\
min-height:1.3em;white-space:pre-wrap}\
.msg:hover line{stroke-width:3}.mark:hover{stroke:#000;stroke-width:2}";

const SCRIPT: &str = r#"(function(){
var svg=document.querySelector('#view svg'),w=svg.width.baseVal.value,h=svg.height.baseVal.value,z=1;
function zoom(f){z=f?Math.min(16,Math.max(0.05,z*f)):1;svg.setAttribute('width',w*z);svg.setAttribute('height',h*z);
document.getElementById('zoom').textContent=Math.round(z*100)+'%';}
document.getElementById('in').onclick=function(){zoom(1.25)};
document.getElementById('out').onclick=function(){zoom(0.8)};
document.getElementById('fit').onclick=function(){zoom(0)};
document.getElementById('view').addEventListener('wheel',function(e){if(e.ctrlKey){e.preventDefault();zoom(e.deltaY<0?1.1:0.9)}},{passive:false});
var detail=document.getElementById('detail');
svg.addEventListener('mouseover',function(e){var g=e.target.closest('.msg,.mark,.band');
if(g){var t=g.querySelector('title');detail.textContent=t?t.textContent:''}});
})();"#;

/// The page.
pub fn render(st: &SpaceTime) -> String {
    let title = format!("{} — {} to {}", st.title, secs(st.from), secs(st.to));
    let dropped = st
        .arrows
        .iter()
        .filter(|a| matches!(a.fate, super::diagram::Fate::Dropped(_)))
        .count();
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<header>\
         <b>{}</b> · {} nodes · {} messages ({} dropped) · {} marks · {} fault bands \
         <span style=\"float:right\">zoom <span id=\"zoom\">100%</span>\
         <button id=\"out\">−</button><button id=\"in\">+</button><button id=\"fit\">1:1</button>\
         </span></header>\n<div id=\"view\">\n",
        escape(&title),
        escape(&title),
        st.nodes.len(),
        st.arrows.len(),
        dropped,
        st.marks.len(),
        st.bands.len()
    );
    s.push_str(&svg(st, false));
    let _ = write!(
        s,
        "</div>\n<div id=\"detail\">hover over a message, a mark or a band for its details</div>\n\
         <script>{SCRIPT}</script>\n</body>\n</html>\n"
    );
    s
}
