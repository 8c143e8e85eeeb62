//! The category tree, held in memory: small, read on every page, cached whole.

use domain::CategoryRef;

/// One category with the number of published products in it and below it.
#[derive(Debug, Clone)]
pub struct CategoryNode {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub image_url: String,
    pub product_count: i64,
}

/// All categories, in display order.
#[derive(Debug, Clone, Default)]
pub struct CategoryTree {
    nodes: Vec<CategoryNode>,
}

impl CategoryTree {
    /// Builds the tree from rows in display order, each with its own direct product count;
    /// counts are then summed up the tree.
    pub fn new(mut nodes: Vec<CategoryNode>) -> Self {
        let direct: Vec<(Option<i64>, i64)> = nodes
            .iter()
            .map(|n| (n.parent_id, n.product_count))
            .collect();
        for (parent, count) in direct {
            let mut cursor = parent;
            let mut hops = 0;
            while let Some(pid) = cursor {
                let Some(p) = nodes.iter_mut().find(|n| n.id == pid) else {
                    break;
                };
                p.product_count += count;
                cursor = p.parent_id;
                hops += 1;
                if hops > 64 {
                    break; // a cycle cannot exist (CHECK + FK), but never loop forever
                }
            }
        }
        Self { nodes }
    }

    pub fn by_slug(&self, slug: &str) -> Option<&CategoryNode> {
        self.nodes.iter().find(|n| n.slug == slug)
    }

    pub fn by_id(&self, id: i64) -> Option<&CategoryNode> {
        self.nodes.iter().find(|n| n.id == id)
    }

    pub fn roots(&self) -> impl Iterator<Item = &CategoryNode> {
        self.nodes.iter().filter(|n| n.parent_id.is_none())
    }

    pub fn children(&self, id: i64) -> impl Iterator<Item = &CategoryNode> {
        self.nodes.iter().filter(move |n| n.parent_id == Some(id))
    }

    pub fn all(&self) -> &[CategoryNode] {
        &self.nodes
    }

    /// The category and every category below it. Each category is visited once, so even
    /// a loop in the parent links (which only an invalid write could make) ends.
    pub fn subtree_ids(&self, id: i64) -> Vec<i64> {
        let mut out = vec![id];
        let mut i = 0;
        while i < out.len() {
            let current = out[i];
            for child in self.children(current) {
                if !out.contains(&child.id) {
                    out.push(child.id);
                }
            }
            i += 1;
        }
        out
    }

    /// From the root down to the parent of `id`.
    pub fn ancestors(&self, id: i64) -> Vec<CategoryRef> {
        let mut out = Vec::new();
        let mut cursor = self.by_id(id).and_then(|n| n.parent_id);
        while let Some(pid) = cursor {
            let Some(p) = self.by_id(pid) else { break };
            out.push(CategoryNode::to_ref(p));
            cursor = p.parent_id;
            if out.len() > 64 {
                break;
            }
        }
        out.reverse();
        out
    }
}

impl CategoryTree {
    /// Every category, each parent before its children, siblings in display order, with
    /// its depth (0 for a top-level one). A category whose parent links loop is left out.
    pub fn depth_first(&self) -> Vec<(&CategoryNode, u32)> {
        let mut out = Vec::with_capacity(self.nodes.len());
        let mut stack: Vec<(&CategoryNode, u32)> = self.roots().map(|n| (n, 0)).collect();
        stack.reverse();
        while let Some((node, depth)) = stack.pop() {
            if out.len() > self.nodes.len() {
                break;
            }
            out.push((node, depth));
            let children: Vec<_> = self.children(node.id).collect();
            stack.extend(children.into_iter().rev().map(|c| (c, depth + 1)));
        }
        out
    }

    /// "Clothing › Tops › Tees".
    pub fn path(&self, id: i64) -> String {
        let mut names: Vec<String> = self.ancestors(id).into_iter().map(|c| c.name).collect();
        if let Some(n) = self.by_id(id) {
            names.push(n.name.clone());
        }
        names.join(" › ")
    }
}

impl CategoryNode {
    pub fn to_ref(&self) -> CategoryRef {
        CategoryRef {
            slug: self.slug.clone(),
            name: self.name.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: i64, parent: Option<i64>, slug: &str, count: i64) -> CategoryNode {
        CategoryNode {
            id,
            parent_id: parent,
            slug: slug.into(),
            name: slug.into(),
            description: String::new(),
            image_url: String::new(),
            product_count: count,
        }
    }

    #[test]
    fn sums_counts_and_walks_the_tree() {
        let t = CategoryTree::new(vec![
            node(1, None, "clothing", 0),
            node(2, Some(1), "tops", 3),
            node(3, Some(2), "tees", 5),
            node(4, None, "home", 2),
        ]);
        assert_eq!(t.by_slug("clothing").map(|n| n.product_count), Some(8));
        assert_eq!(t.by_slug("tops").map(|n| n.product_count), Some(8));
        assert_eq!(t.subtree_ids(1), vec![1, 2, 3]);
        let names: Vec<_> = t.ancestors(3).into_iter().map(|c| c.slug).collect();
        assert_eq!(names, ["clothing", "tops"]);
        assert_eq!(t.roots().count(), 2);
        let order: Vec<_> = t
            .depth_first()
            .into_iter()
            .map(|(n, d)| (n.id, d))
            .collect();
        assert_eq!(order, [(1, 0), (2, 1), (3, 2), (4, 0)]);
        assert_eq!(t.path(3), "clothing › tops › tees");
    }

    #[test]
    fn a_loop_in_parent_links_cannot_hang_a_listing() {
        let t = CategoryTree::new(vec![node(1, Some(2), "a", 1), node(2, Some(1), "b", 1)]);
        assert_eq!(t.subtree_ids(1), vec![1, 2]);
        assert!(t.ancestors(1).len() <= 65);
    }
}
