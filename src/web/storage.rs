//! Storage that never throws: localStorage when the browser lets us use it,
//! memory when it does not (blocked in private modes, disabled cookies, full,
//! or failing for any other reason). Every access is wrapped, because browsers
//! throw from the getter itself as well as from `setItem`.

use web_sys::Storage;

/// Prefix of every key Vitrina writes.
pub const PREFIX: &str = "vitrina:";

pub struct Store {
    local: Option<Storage>,
    memory: Vec<(String, String)>,
    /// Why we fell back to memory, reported once in debug mode.
    pub degraded: Option<&'static str>,
}

impl Store {
    pub fn open() -> Store {
        let local = web_sys::window().and_then(|w| w.local_storage().ok().flatten());
        let mut s = Store { local, memory: Vec::new(), degraded: None };
        // Probe: Safari's private mode used to give a storage that throws on write.
        match &s.local {
            None => s.degraded = Some("localStorage is not available"),
            Some(l) => {
                let k = "vitrina:probe";
                if l.set_item(k, "1").is_err() || l.remove_item(k).is_err() {
                    s.local = None;
                    s.degraded = Some("localStorage refuses writes");
                }
            }
        }
        s
    }

    pub fn persistent(&self) -> bool {
        self.local.is_some()
    }

    pub fn get(&self, key: &str) -> Option<String> {
        let k = [PREFIX, key].concat();
        match &self.local {
            Some(l) => l.get_item(&k).ok().flatten(),
            None => self.memory.iter().find(|(m, _)| *m == k).map(|(_, v)| v.clone()),
        }
    }

    /// Writes a value; on failure (quota) keeps it in memory and says why.
    pub fn set(&mut self, key: &str, value: &str) -> bool {
        let k = [PREFIX, key].concat();
        if let Some(l) = &self.local {
            if l.set_item(&k, value).is_ok() {
                return true;
            }
            self.degraded = Some("localStorage is full (quota exceeded)");
        }
        self.memory.retain(|(m, _)| *m != k);
        self.memory.push((k, value.to_owned()));
        false
    }

    pub fn remove(&mut self, key: &str) {
        let k = [PREFIX, key].concat();
        if let Some(l) = &self.local {
            let _ = l.remove_item(&k);
        }
        self.memory.retain(|(m, _)| *m != k);
    }

    /// Removes every key Vitrina wrote, whatever its name.
    pub fn clear_all(&mut self) {
        if let Some(l) = &self.local {
            let n = l.length().unwrap_or(0);
            let keys: Vec<String> = (0..n).filter_map(|i| l.key(i).ok().flatten()).filter(|k| k.starts_with(PREFIX)).collect();
            for k in keys {
                let _ = l.remove_item(&k);
            }
        }
        self.memory.clear();
    }
}
