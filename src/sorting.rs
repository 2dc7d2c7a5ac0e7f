//! One stable sort for the whole crate. Each `sort_by` call site instantiates the standard
//! library's driftsort anew (about fifteen functions) for its element and closure types; here
//! every site sorts indices through one `&dyn Fn`, so the sort is compiled once, and only the
//! small permutation step is generic. Same order as `slice::sort_by`, ties included.

use std::cmp::Ordering;

/// Sorts `items` stably by `cmp`, as `items.sort_by(cmp)` would.
pub(crate) fn sort_by<T>(items: &mut Vec<T>, cmp: impl Fn(&T, &T) -> Ordering) {
    if items.len() < 2 {
        return;
    }
    let mut order: Vec<usize> = (0..items.len()).collect();
    sort_indices(&mut order, &|a, b| cmp(&items[a], &items[b]));
    let mut slots: Vec<Option<T>> = items.drain(..).map(Some).collect();
    items.extend(order.into_iter().filter_map(|i| slots.get_mut(i).and_then(Option::take)));
}

/// Sorts `items` stably by the key `key` gives, as `items.sort_by_key(key)` would.
pub(crate) fn sort_by_key<T, K: Ord>(items: &mut Vec<T>, key: impl Fn(&T) -> K) {
    sort_by(items, |a, b| key(a).cmp(&key(b)));
}

#[inline(never)]
fn sort_indices(order: &mut [usize], cmp: &dyn Fn(usize, usize) -> Ordering) {
    order.sort_by(|&a, &b| cmp(a, b));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_as_the_standard_library_does_ties_kept_in_order() {
        // Pairs sorted by their first field only: the second tells the ties' order.
        let mut seed = 7u32;
        let mut ours: Vec<(u8, u32)> = (0..500)
            .map(|i| {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                ((seed >> 24) as u8 % 13, i)
            })
            .collect();
        let mut std = ours.clone();
        std.sort_by_key(|p| p.0);
        sort_by(&mut ours, |a, b| a.0.cmp(&b.0));
        assert_eq!(ours, std);
        let mut by_key = std.clone();
        by_key.reverse();
        let mut expected = by_key.clone();
        expected.sort_by_key(|p| p.0);
        sort_by_key(&mut by_key, |p| p.0);
        assert_eq!(by_key, expected);
        let (mut empty, mut one) = (Vec::<u8>::new(), vec![1u8]);
        sort_by(&mut empty, |a, b| a.cmp(b));
        sort_by(&mut one, |a, b| a.cmp(b));
        assert_eq!((empty, one), (vec![], vec![1]));
    }
}
